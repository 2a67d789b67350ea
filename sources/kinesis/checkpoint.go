package kinesis

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weirstream/weir/pipeline"
)

// held is a lease this worker holds: the fencing state of its writes and its checkpoint
// candidate.
type held struct {
	shard string
	part  pipeline.Partition
	start lease // the lease as taken: where reading starts

	// wmu serialises the lease's writes (renew, checkpoint, release): each is conditional on
	// the counter the previous one left, so two at once would fence each other out.
	wmu       sync.Mutex
	counter   int64
	lastRenew time.Time
	written   string // last checkpoint written (pipeline.Checkpoint.String; "" until the first)
	// unanswered is the highest counter this worker's writes whose answer was lost may have
	// left in the table (0 when every write since the last success was answered); see
	// fencedWrite.
	unanswered int64
	// unansweredSent is when the earliest write that may have left unanswered was sent (see
	// noAnswer).
	unansweredSent time.Time
	// renewing is set while a renewal of the lease is under way (renewAll).
	renewing atomic.Bool

	// cmu guards the commit candidate: Commit is called from writer goroutines and must not
	// wait behind a DynamoDB write.
	cmu     sync.Mutex
	cand    pipeline.Checkpoint
	hasCand bool

	behind   behindReading // MillisBehindLatest of the last GetRecords, and when
	inflight atomic.Int64  // bytes handed to the runtime and not yet released
	next     atomic.Int64  // ordinal after the last record handed to the runner: the lag samples' Processed
	lost     atomic.Bool   // another worker holds the lease now: never write, refuse commits
	gone     atomic.Bool   // no longer held (released, handed over, lost): nothing more to write
	// handoffTo is the worker this lease is being handed to (balancing), once asked.
	handoffTo atomic.Pointer[string]
	// leaving: the reader stopped fetching to hand the lease over or to finish the shard, and
	// makes the lease's last write itself; Close does not release it.
	leaving atomic.Bool
	cancel  context.CancelFunc
	done    chan struct{} // closed when the reader goroutine ended
	prev    chan struct{} // the previous reader of the shard in this worker, or nil
}

// Commit implements pipeline.Committer: it records c as the shard's checkpoint candidate, which
// the checkpointer writes within CheckpointInterval, its position and its state in one fenced
// update of the lease. A commit point for a shard whose lease this worker no longer holds is
// refused and counted: writing it could move the new owner's checkpoint (the fencing counter
// would refuse it anyway). Commit never blocks on I/O.
func (s *Source) Commit(p pipeline.Partition, c pipeline.Checkpoint) {
	s.mu.Lock()
	h, ok := s.held[p.ID]
	s.mu.Unlock()
	if !ok || p.Stream != s.cfg.Stream || h.lost.Load() {
		s.m.commitsRejected.WithLabelValues("not_owned").Inc()
		return
	}
	h.cmu.Lock()
	h.cand, h.hasCand = c, true
	h.cmu.Unlock()
}

func (h *held) candidate() (pipeline.Checkpoint, bool) {
	h.cmu.Lock()
	defer h.cmu.Unlock()
	return h.cand, h.hasCand
}

// writeCheckpoint writes the commit candidate if it moved, fenced by the lease counter. With
// release it gives the lease up in the same write. budget, if above 0, bounds each write from
// when it is sent (see fencedWrite): not from before the wait for h.wmu, which a renewal's
// read-back may hold for longer than that.
func (s *Source) writeCheckpoint(ctx context.Context, budget time.Duration, h *held, release bool) error {
	cand, ok := h.candidate()
	h.wmu.Lock()
	defer h.wmu.Unlock()
	if h.lost.Load() {
		return errLeaseLost
	}
	if h.gone.Load() {
		return nil
	}
	moved := ok && h.written != cand.String()
	if !moved && !release {
		return nil
	}
	_, err := s.fencedWrite(ctx, h, budget, func(ctx context.Context, counter int64) (int64, string, error) {
		if moved {
			return noHandoff(s.store.checkpoint(ctx, h.shard, s.cfg.WorkerID, counter, cand.Position.Seq, int64(cand.Position.Sub), cand.String(), release))
		}
		return noHandoff(s.store.release(ctx, h.shard, s.cfg.WorkerID, counter))
	})
	if err != nil {
		if moved {
			s.checkpointFailed(err)
		}
		return err
	}
	if moved {
		h.written = cand.String()
		s.m.checkpoints.Inc()
	}
	return nil
}

// checkpointFailed counts a checkpoint write that failed (weir_kinesis_checkpoint_errors_total,
// published as CommitErrors): a periodic one, a release's, a handover's or SHARD_END. A write
// refused because another worker holds the lease now is not a failed write but a lost lease,
// counted as such.
func (s *Source) checkpointFailed(err error) {
	if !errors.Is(err, errLeaseLost) {
		s.m.checkpointErrs.Inc()
	}
}

// checkpointLoop writes every held lease's moved checkpoint each CheckpointInterval, until
// Close.
func (s *Source) checkpointLoop() {
	t := time.NewTicker(s.cfg.CheckpointInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-s.leaseCtx.Done():
			return
		}
		for _, h := range s.heldLeases() {
			err := s.writeCheckpoint(s.leaseCtx, s.cfg.renewInterval(), h, false)
			switch {
			case errors.Is(err, errLeaseLost):
				s.loseLease(h, "checkpoint refused: the lease counter moved")
			case err != nil && s.leaseCtx.Err() == nil:
				s.log.Warn("checkpoint failed; retried next interval", "shard", h.shard, "err", err)
			}
		}
	}
}

// releaseLease is the graceful end of a lease: final checkpoint and release in one fenced
// write, then forget it.
func (s *Source) releaseLease(ctx context.Context, h *held) error {
	err := s.writeCheckpoint(ctx, 0, h, true)
	if err == nil {
		s.m.leaseEvents.WithLabelValues("released").Inc()
	}
	s.forget(h)
	if errors.Is(err, errLeaseLost) {
		return nil // someone else holds it: nothing of ours to release
	}
	return err
}

// handOver is the graceful end of a lease another worker asked for: the runtime flushes the
// shard's windows and waits (up to DrainTimeout) until they are durable, then one fenced write
// checkpoints what is durable and makes the asking worker the owner. That worker resumes at
// the checkpoint, so nothing is read twice unless the drain ran out of time.
//
// At shutdown a handover under way must end by the deadline: Close cancels leaveCtx when its
// own context ends, which cuts the drain short (the runtime abandons the windows not yet
// durable) and the last write. A handover cut short is abandoned (abandonHandover): the lease
// is left to expire, its checkpoint where the last write that held left it, never past what
// is durable; the asker takes it once it expired and re-reads from there.
func (s *Source) handOver(h *held, to string) {
	ctx, cancel := context.WithTimeout(s.leaveCtx, s.cfg.DrainTimeout)
	s.rt.Revoke(ctx, h.part)
	cancel()
	if s.leaveCtx.Err() != nil {
		s.abandonHandover(h, to, "the shutdown deadline passed while the shard drained")
		return
	}
	cand, ok := h.candidate()
	moved := false
	err := s.lastWrite(h, func(ctx context.Context, counter int64) (int64, string, error) {
		cp, sub, state := "", int64(0), ""
		if ok && cand.String() != h.written {
			cp, sub, state, moved = cand.Position.Seq, int64(cand.Position.Sub), cand.String(), true
		}
		return noHandoff(s.store.handOver(ctx, h.shard, s.cfg.WorkerID, counter, cp, sub, state, to))
	})
	if err != nil && s.leaveCtx.Err() != nil {
		// Cut short by the shutdown deadline, not failed: the write may even have landed.
		s.abandonHandover(h, to, "the shutdown deadline passed during its write: "+err.Error())
		return
	}
	if err != nil {
		if moved {
			// The lease is forgotten whatever the outcome (lastWrite): no later write retries
			// this checkpoint, so this is its one count.
			s.checkpointFailed(err)
		}
		s.log.Warn("handing a lease over failed; it expires and is taken instead", "shard", h.shard, "to", to, "err", err)
		return
	}
	s.m.leaseEvents.WithLabelValues("handed_over").Inc()
	s.log.Info("lease handed over", "shard", h.shard, "to", to)
}

// abandonHandover gives up a handover the shutdown deadline cut short: the lease is forgotten
// and left to expire after LeaseDuration, with the checkpoint the last write that held left
// (what was durable then); whoever takes it re-reads the shard from there.
func (s *Source) abandonHandover(h *held, to, why string) {
	s.forget(h)
	s.m.leaseEvents.WithLabelValues("handover_abandoned").Inc()
	s.log.Warn("handover abandoned at shutdown; the lease expires after lease_duration and its next owner re-reads from the last checkpoint written",
		"shard", h.shard, "to", to, "lease_duration", s.cfg.LeaseDuration, "why", why)
}

// lastWrite makes the last fenced write of a lease this worker gives up (a handover, SHARD_END)
// within LeaseDuration and the shutdown deadline (leaveCtx), with h.wmu held while write runs,
// and forgets the lease whatever the outcome: after it the shard is another worker's, or
// nobody's until its lease expires.
func (s *Source) lastWrite(h *held, write fenceWrite) error {
	ctx, cancel := context.WithTimeout(s.leaveCtx, s.cfg.LeaseDuration)
	defer cancel()
	h.wmu.Lock()
	err := errLeaseLost
	if !h.lost.Load() {
		_, err = s.fencedWrite(ctx, h, 0, write)
	}
	h.wmu.Unlock()
	s.forget(h)
	return err
}

// loseLease handles a lease another worker holds now: commits are refused from here on, the
// reader stops, and the reader's exit revokes the partition without waiting (the final commits
// must be refused, not written).
func (s *Source) loseLease(h *held, why string) {
	if h.gone.Load() || h.lost.Swap(true) {
		return
	}
	s.log.Warn("lease lost; its records after the last checkpoint are re-read by the new owner", "shard", h.shard, "why", why)
	s.m.leaseEvents.WithLabelValues("lost").Inc()
	s.forget(h)
	h.cancel()
}

func (s *Source) forget(h *held) {
	h.gone.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held[h.shard] == h {
		delete(s.held, h.shard)
		s.m.leasesHeld.Set(float64(len(s.held)))
		s.m.forgetShard(h.shard)
		if s.lagTracker != nil {
			s.lagTracker.Forget(h.part)
		}
	}
}

func (s *Source) heldLeases() []*held {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*held, 0, len(s.held))
	for _, h := range s.held {
		out = append(out, h)
	}
	return out
}
