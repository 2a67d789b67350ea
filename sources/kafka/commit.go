package kafka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirstream/weir/pipeline"
)

// committer stores the runtime's checkpoints in the consumer group: the offset after the
// checkpoint's position, with the checkpoint itself (its event-time state, pipeline.Checkpoint)
// as the commit's metadata, so that whoever owns the partition next resumes with the state the
// commit was made with. franz-go's own commits always write the member id as metadata, so weir
// issues its own OffsetCommit requests (with the group's member id and generation; the client
// runs with DisableAutoCommit).
//
// One goroutine (run) sends them, one request at a time, so commits reach the broker in order:
// as soon as a checkpoint moved, at most one request per commit_interval. A synchronous flush
// on revoke and at Close takes the same slot, after any request in flight. A commit refused for
// a stale generation or a rebalance in progress (expected while the group rebalances) is
// counted and retried for the partitions still owned; one for a partition no longer owned is
// dropped.
type committer struct {
	s    *Source
	wake chan struct{} // a checkpoint moved
	slot chan struct{} // one request in flight at a time

	mu      sync.Mutex
	pending map[tp]pipeline.Checkpoint // latest checkpoint per owned partition, not yet stored
	stored  map[tp]pipeline.Checkpoint
	ids     map[string][16]byte // topic IDs
}

func newCommitter(s *Source) *committer {
	return &committer{s: s, wake: make(chan struct{}, 1), slot: make(chan struct{}, 1),
		pending: map[tp]pipeline.Checkpoint{}, stored: map[tp]pipeline.Checkpoint{}, ids: map[string][16]byte{}}
}

// set records p's latest checkpoint (the caller checked that p is owned) and wakes run.
func (c *committer) set(p tp, cp pipeline.Checkpoint) {
	c.mu.Lock()
	c.pending[p] = cp
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// forget drops what is pending for partitions the member no longer owns.
func (c *committer) forget(ps []tp) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range ps {
		delete(c.pending, p)
		delete(c.stored, p)
	}
}

// run sends what is pending, promptly and at most once per interval, until ctx ends.
func (c *committer) run(ctx context.Context, interval time.Duration) {
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		}
		if wait := interval - time.Since(last); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		last = time.Now()
		if err := c.flush(ctx); err != nil && ctx.Err() == nil {
			c.s.log.Warn("offset commit failed; retried with the next one", "err", err)
			select { // try again after the interval even if nothing moves
			case c.wake <- struct{}{}:
			default:
			}
		}
	}
}

// flush sends every pending checkpoint of a partition still owned, in one request, and
// returns once the broker answered, or ctx ended. A request is never cancelled once sent:
// canceling one closes its connection, and the next request, on a new connection, could be
// processed before it and then be overwritten by its older offsets. So a flush whose ctx ends
// leaves its request to finish (within commitRequestTimeout), and the next flush waits for it.
func (c *committer) flush(ctx context.Context) error {
	select {
	case c.slot <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("kafka: offset commit: an earlier commit is still in flight: %w", ctx.Err())
	}
	batch, req, err := c.request(ctx)
	if err != nil || req == nil {
		<-c.slot
		return err
	}
	done := make(chan error, 1)
	go func() {
		defer func() { <-c.slot }()
		rctx, cancel := context.WithTimeout(context.Background(), commitRequestTimeout)
		defer cancel()
		resp, err := req.RequestWith(rctx, c.s.cl)
		if err == nil {
			err = c.settle(batch, resp)
		} else {
			c.s.m.commitErrors.Inc()
			err = fmt.Errorf("kafka: offset commit: %w", err)
		}
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("kafka: offset commit: no answer before the deadline (it may still land): %w", ctx.Err())
	}
}

// commitRequestTimeout bounds one commit request, which is never cancelled earlier (see flush).
const commitRequestTimeout = 30 * time.Second

// request builds the commit of every pending checkpoint of a partition still owned (nil if
// there is none).
func (c *committer) request(ctx context.Context) (map[tp]pipeline.Checkpoint, *kmsg.OffsetCommitRequest, error) {
	owned := c.s.ownedSet()
	c.mu.Lock()
	batch := make(map[tp]pipeline.Checkpoint, len(c.pending))
	for p, cp := range c.pending {
		if !owned[p] {
			delete(c.pending, p)
			continue
		}
		if st, ok := c.stored[p]; !ok || st.String() != cp.String() {
			batch[p] = cp
		}
	}
	c.mu.Unlock()
	if len(batch) == 0 {
		return nil, nil, nil
	}
	member, gen := c.s.cl.GroupMetadata()
	if member == "" {
		c.s.m.commitsStale.Inc()
		return nil, nil, errors.New("kafka: offset commit: not in the group (yet); the commit waits for the next generation")
	}
	ids, err := c.topicIDs(ctx, batch)
	if err != nil {
		c.s.m.commitErrors.Inc() // the commit could not be sent
		return nil, nil, err
	}
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.Generation, req.MemberID = c.s.cfg.Group, gen, member
	topics := map[string]int{}
	for p, cp := range batch {
		i, ok := topics[p.topic]
		if !ok {
			i = len(req.Topics)
			topics[p.topic] = i
			t := kmsg.NewOffsetCommitRequestTopic()
			t.Topic, t.TopicID = p.topic, ids[p.topic] // by name before OffsetCommit v10, by ID from it
			req.Topics = append(req.Topics, t)
		}
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset, rp.LeaderEpoch = p.partition, cp.Position.Offset+1, -1
		meta := cp.String()
		rp.Metadata = &meta
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
	}
	return batch, req, nil
}

// settle records what the broker stored and returns what it refused.
func (c *committer) settle(batch map[tp]pipeline.Checkpoint, resp *kmsg.OffsetCommitResponse) error {
	c.mu.Lock()
	names := make(map[[16]byte]string, len(c.ids))
	for n, id := range c.ids {
		names[id] = n
	}
	c.mu.Unlock()
	var errs []error
	for _, t := range resp.Topics {
		topic := t.Topic
		if topic == "" {
			topic = names[t.TopicID]
		}
		for _, rp := range t.Partitions {
			p := tp{topic, rp.Partition}
			cp := batch[p]
			switch err := kerr.ErrorForCode(rp.ErrorCode); {
			case err == nil:
				c.mu.Lock()
				c.stored[p] = cp
				if c.pending[p].String() == cp.String() {
					delete(c.pending, p)
				}
				c.mu.Unlock()
				c.s.m.commits.Inc()
			case errors.Is(err, kerr.IllegalGeneration), errors.Is(err, kerr.RebalanceInProgress),
				errors.Is(err, kerr.UnknownMemberID), errors.Is(err, kerr.FencedInstanceID):
				c.s.m.commitsStale.Inc()
				errs = append(errs, fmt.Errorf("%s/%d: %w", p.topic, p.partition, err))
			default:
				if errors.Is(err, kerr.UnknownTopicID) {
					c.mu.Lock()
					delete(c.ids, topic) // a recreated topic: look its ID up again
					c.mu.Unlock()
				}
				c.s.m.commitErrors.Inc()
				errs = append(errs, fmt.Errorf("%s/%d: %w", p.topic, p.partition, err))
			}
		}
	}
	return errors.Join(errs...)
}

// topicIDs returns the IDs of the batch's topics (OffsetCommit v10 names topics by ID), looking
// up those it does not know yet.
func (c *committer) topicIDs(ctx context.Context, batch map[tp]pipeline.Checkpoint) (map[string][16]byte, error) {
	c.mu.Lock()
	var missing []string
	for p := range batch {
		if _, ok := c.ids[p.topic]; !ok && !slices.Contains(missing, p.topic) {
			missing = append(missing, p.topic)
		}
	}
	c.mu.Unlock()
	if len(missing) > 0 {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		details, err := kadm.NewClient(c.s.cl).ListTopics(ctx, missing...)
		if err != nil {
			return nil, fmt.Errorf("kafka: offset commit: the topics' IDs: %w", err)
		}
		c.mu.Lock()
		for _, d := range details {
			if d.Err == nil {
				c.ids[d.Topic] = d.ID
			}
		}
		c.mu.Unlock()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.ids), nil
}

// checkpoints reads the group's committed offsets of the given partitions with their metadata
// (one OffsetFetch) and returns, for each partition with a commit, the checkpoint to resume it
// at: with the event-time state its metadata carries when that is a weir checkpoint of this
// very offset, else the position alone (another consumer's commit, an older weir's, or one
// reset by an administrator: the partition starts without state, as a new one does, which is
// logged once).
func (s *Source) checkpoints(ctx context.Context, parts []tp) (map[tp]*pipeline.Checkpoint, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	committed, err := kadm.NewClient(s.cl).FetchOffsets(ctx, s.cfg.Group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[tp]*pipeline.Checkpoint{}
	for _, p := range parts {
		o, ok := committed.Lookup(p.topic, p.partition)
		if !ok || o.Err != nil || o.At < 0 {
			s.m.checkpoints.WithLabelValues("none").Inc()
			continue
		}
		at := pipeline.Position{Offset: o.At - 1}
		cp, err := pipeline.ParseCheckpoint(o.Metadata)
		switch {
		case err == nil && cp.Position == at:
			s.m.checkpoints.WithLabelValues("restored").Inc()
			out[p] = &cp
			continue
		case err == nil:
			err = fmt.Errorf("it is of offset %d, the commit is at %d", cp.Position.Offset+1, o.At)
		}
		s.m.checkpoints.WithLabelValues("without_state").Inc()
		s.foreignOnce.Do(func() {
			s.log.Warn("a committed offset carries no event-time state weir can use; the partition starts without it "+
				"(replayed records may fall in windows differently; logged once)",
				"partition", fmt.Sprintf("%s/%d", p.topic, p.partition), "offset", o.At, "metadata", o.Metadata, "why", err)
		})
		out[p] = &pipeline.Checkpoint{Position: at}
	}
	return out, nil
}
