package kafka

import (
	"context"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/pipeline"
)

// onAssigned starts a runner for every newly assigned partition, from the checkpoint its last
// commit stored (commit.go). franz-go calls it before fetching those partitions begins, and
// fetches from the committed offset, so the runner resumes where its checkpoint says.
func (s *Source) onAssigned(ctx context.Context, _ *kgo.Client, assigned map[string][]int32) {
	rt := s.runtime(ctx)
	if rt == nil {
		return
	}
	var parts []tp
	for topic, ps := range assigned {
		for _, p := range ps {
			parts = append(parts, tp{topic, p})
		}
	}
	// Reading the checkpoints waits for the broker; it gives up when Run ends (Source.stopping).
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.stopping:
			cancel()
		case <-rctx.Done():
		}
	}()
	cps, err := s.checkpoints(rctx, parts)
	for err != nil && rctx.Err() == nil {
		s.log.Warn("reading the assigned partitions' checkpoints failed; retrying", "err", err)
		select {
		case <-time.After(time.Second):
		case <-rctx.Done():
		}
		cps, err = s.checkpoints(rctx, parts)
	}
	if rctx.Err() != nil {
		return
	}
	var fresh []tp
	for _, key := range parts {
		part := pipeline.Partition{Stream: key.topic, ID: strconv.Itoa(int(key.partition))}
		feed, err := rt.Assign(part, cps[key])
		if err != nil {
			// Only a closed runtime refuses: we are shutting down and will leave the group.
			s.log.Warn("runtime refused a partition", "partition", part.String(), "err", err)
			continue
		}
		s.mu.Lock()
		s.owned[key] = &owned{part: part, gate: newGate(key, feed, s.cl, s.m)}
		if s.lagTracker != nil {
			// Counted from now, its lag unknown until the lag poller's next round: not left
			// out of the worker's lag as if there were nothing to read.
			s.lagTracker.Track(part)
		}
		s.mu.Unlock()
		fresh = append(fresh, key)
		s.m.rebalances.WithLabelValues("assigned").Inc()
	}
	if len(fresh) > 0 {
		go s.markCaughtUp(ctx, fresh)
	}
	s.leaderGained(fresh)
	s.log.Info("partitions assigned", "partitions", assigned)
}

// onRevoked hands the revoked partitions back cleanly: stop feeding them, let the runtime wait
// (up to RevokeTimeout) until the partials of the windows they closed are durable, store the
// last checkpoints synchronously (within RevokeCommitTimeout of its own), and only then forget
// them. Their open windows are abandoned: the next owner reads them again and writes them
// whole. Commit points arriving later are refused.
func (s *Source) onRevoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	parts := s.beginRevoke(revoked, "revoked")
	if len(parts) == 0 {
		return
	}
	s.leaderLost(parts)
	rctx, cancel := context.WithTimeout(ctx, s.cfg.RevokeTimeout)
	s.revokeAll(rctx, parts)
	cancel()
	// A drain that ran out of time must not take the commit down with it: what was committed
	// to the source before (and during) the drain is durable, and storing it spares the next
	// owner re-reading it. The revoked partitions are still in the owned table (revoking), so
	// the flush takes them with the rest.
	cctx, ccancel := context.WithTimeout(ctx, s.cfg.RevokeCommitTimeout)
	defer ccancel()
	if err := s.commits.flush(cctx); err != nil { // counted by the flush
		s.log.Warn("commit on revoke failed; the next owner re-reads from the last commit", "err", err)
	}
	s.forget(parts)
	s.log.Info("partitions revoked", "partitions", revoked)
}

// onLost is a revoke without the commit: the group already gave the partitions away, so the
// commit would be refused or, worse, race the new owner. The runtime stops at once.
func (s *Source) onLost(ctx context.Context, _ *kgo.Client, lost map[string][]int32) {
	parts := s.beginRevoke(lost, "lost")
	if len(parts) == 0 {
		return
	}
	s.leaderLost(parts)
	s.forget(parts) // refuse commit points from here on: the partitions are not ours
	lctx, cancel := context.WithCancel(ctx)
	cancel()
	s.revokeAll(lctx, parts)
	s.log.Warn("partitions lost; uncommitted records will be re-read by their new owner", "partitions", lost)
}

// beginRevoke marks the partitions as going away, so the poll loop stops feeding them, and
// releases the batches they had waiting.
func (s *Source) beginRevoke(revoked map[string][]int32, event string) []*owned {
	var parts []*owned
	var release []pipeline.Batch
	s.mu.Lock()
	for topic, ps := range revoked {
		for _, p := range ps {
			o, ok := s.owned[tp{topic, p}]
			if !ok {
				continue
			}
			o.revoking = true
			release = append(release, o.gate.close()...)
			parts = append(parts, o)
			s.m.rebalances.WithLabelValues(event).Inc()
		}
	}
	s.mu.Unlock()
	for _, b := range release {
		b.Done()
	}
	return parts
}

// revokeAll revokes parts in the runtime, waiting for each until ctx ends. The runtime is
// looked up apart from ctx: onLost passes a context already cancelled (no wait for
// durability), and a lookup through it would give up at random, leaving the lost partitions'
// runners in the runtime to write partials for partitions another worker owns and, should a
// partition come back, to be handed back with their old open windows.
func (s *Source) revokeAll(ctx context.Context, parts []*owned) {
	var rt pipeline.Assigner
	select {
	case <-s.rtReady:
		rt = s.rt
	default:
		return // no runtime attached: no runner to stop
	}
	done := make(chan struct{}, len(parts))
	for _, o := range parts {
		go func() {
			rt.Revoke(ctx, o.part)
			done <- struct{}{}
		}()
	}
	for range parts {
		<-done
	}
}

func (s *Source) forget(parts []*owned) {
	s.mu.Lock()
	var keys []tp
	for _, o := range parts {
		key := o.key()
		keys = append(keys, key)
		if s.owned[key] == o {
			delete(s.owned, key)
		}
		if s.lagTracker != nil {
			s.lagTracker.Forget(o.part)
		}
	}
	s.mu.Unlock()
	s.commits.forget(keys)
}

func (o *owned) key() tp {
	n, _ := strconv.Atoi(o.part.ID)
	return tp{o.part.Stream, int32(n)}
}

// runtime waits for Run to attach the runtime (group callbacks can only fire once polling
// started, so this does not block in practice).
func (s *Source) runtime(ctx context.Context) pipeline.Assigner {
	select {
	case <-s.rtReady:
		return s.rt
	case <-ctx.Done():
		return nil
	}
}

func countRecords(bs []pipeline.Batch) int {
	n := 0
	for _, b := range bs {
		n += len(b.Records)
	}
	return n
}
