package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// handOff is how long Close lets franz-go commit and leave by itself before it concludes that
// a JoinGroup or SyncGroup in flight holds them, and acts directly. Both are one round trip
// to the coordinator otherwise.
const handOff = 500 * time.Millisecond

// Close commits what the runtime made durable and leaves the group, within ctx (the part of
// the shutdown reserved for commit and release). Call it after the runtime has closed, so
// every durable window has been marked.
//
// franz-go makes both wait for a JoinGroup or SyncGroup in flight: it holds commits during
// join and sync (so that its own commit in a revoke cannot be refused), and its leave waits
// for the group loop, which waits for the join, up to the rebalance timeout (60s by default:
// past any ECS stop timeout). So Close works around a rebalance it cannot wait for:
//
//   - the commit goes through franz-go; if franz-go has not sent it within handOff, the marks
//     are committed directly, in the member id and generation franz-go still holds: the
//     coordinator takes commits of the current generation while it prepares a rebalance (it
//     refuses them only while it completes one, and then franz-go's own commit follows);
//   - the leave is franz-go's Close, in a goroutine; if it has not finished within handOff, a
//     LeaveGroup is sent directly, so the coordinator drops this member now and the rebalance
//     in flight completes without waiting for it; franz-go's Close is then waited for until
//     ctx ends, and abandoned (the process is about to exit).
//
// A commit that fails is returned (and counted in weir_kafka_commit_errors_total): its
// records will be read again by the partition's next owner. A leave that did not finish is
// logged, not returned: nothing is lost, and the group drops a member it does not hear from
// after session_timeout.
func (s *Source) Close(ctx context.Context) error {
	err := s.commitFinal(ctx)
	if err != nil {
		s.m.commitErrors.Inc()
	}
	s.leave(ctx)
	s.pm.RetireStageClock("source", s.clock)
	return err
}

// commitFinal commits the marks, through franz-go or, when a rebalance holds franz-go's
// commits, directly (see Close).
func (s *Source) commitFinal(ctx context.Context) error {
	marked := s.cl.MarkedOffsets()
	if len(marked) == 0 {
		return nil
	}
	viaClient := make(chan error, 1)
	go func() { viaClient <- s.cl.CommitMarkedOffsets(ctx) }()
	t := time.NewTimer(handOff)
	defer t.Stop()
	select {
	case err := <-viaClient:
		return err
	case <-t.C:
	}
	s.log.Info("the final commit waits for a rebalance in flight; committing in the current generation directly")
	err := s.commitDirect(ctx, marked)
	if err == nil {
		return nil
	}
	// Refused (the rebalance moved on to completing, or to a new generation): franz-go's
	// commit goes out once the rebalance lets it.
	select {
	case cerr := <-viaClient:
		if cerr == nil {
			return nil
		}
		return errors.Join(err, cerr)
	case <-ctx.Done():
		return err
	}
}

// commitDirect sends one OffsetCommit of marked as the member franz-go holds the identity of.
func (s *Source) commitDirect(ctx context.Context, marked map[string]map[int32]kgo.EpochOffset) error {
	member, generation := s.cl.GroupMetadata()
	if member == "" {
		return errors.New("kafka: final commit: not a member of the group")
	}
	// OffsetCommit v10+ names topics by id.
	topics := make([]string, 0, len(marked))
	for topic := range marked {
		topics = append(topics, topic)
	}
	details, err := kadm.NewClient(s.cl).ListTopics(ctx, topics...)
	if err != nil {
		return fmt.Errorf("kafka: final commit: topic ids: %w", err)
	}
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.MemberID, req.Generation = s.cfg.Group, member, generation
	for topic, parts := range marked {
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic, rt.TopicID = topic, details[topic].ID
		for p, eo := range parts {
			rp := kmsg.NewOffsetCommitRequestTopicPartition()
			rp.Partition, rp.Offset, rp.LeaderEpoch = p, eo.Offset, eo.Epoch
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, s.cl)
	if err != nil {
		return fmt.Errorf("kafka: final commit: %w", err)
	}
	for i, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return fmt.Errorf("kafka: final commit of %s/%d: %w", req.Topics[min(i, len(req.Topics)-1)].Topic, p.Partition, err)
			}
		}
	}
	return nil
}

// leave closes the client, leaving the group, within ctx (see Close).
func (s *Source) leave(ctx context.Context) {
	member, _ := s.cl.GroupMetadata()
	closed := make(chan struct{})
	go func() {
		s.cl.CloseAllowingRebalance()
		close(closed)
	}()
	t := time.NewTimer(handOff)
	defer t.Stop()
	select {
	case <-closed:
		return
	case <-t.C:
	}
	select {
	case <-closed: // done meanwhile
		return
	default:
	}
	wait := ctx
	if member != "" {
		if err := s.leaveDirect(ctx, member); err != nil {
			s.log.Warn("leaving the group directly failed; waiting for the client's own leave", "err", err)
		} else {
			// The coordinator has dropped this member. franz-go's Close still waits for an
			// answer to its JoinGroup, which may come only at the rebalance timeout: there is
			// nothing left for it to do, so it gets a moment and then finishes on its own.
			s.log.Info("left the group directly: a rebalance in flight held the client's leave", "member", member)
			var cancel context.CancelFunc
			wait, cancel = context.WithTimeout(ctx, handOff)
			defer cancel()
		}
	}
	select {
	case <-closed:
	case <-wait.Done():
		if ctx.Err() != nil {
			s.log.Warn("the Kafka client did not close within the shutdown deadline (a rebalance in flight); the group drops this member after session_timeout")
		}
	}
}

// leaveDirect sends a LeaveGroup for member.
func (s *Source) leaveDirect(ctx context.Context, member string) error {
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group, req.MemberID = s.cfg.Group, member // v0-2
	m := kmsg.NewLeaveGroupRequestMember()
	m.MemberID = member
	req.Members = append(req.Members, m) // v3+
	resp, err := req.RequestWith(ctx, s.cl)
	if err != nil {
		return err
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return err
	}
	for _, m := range resp.Members {
		if err := kerr.ErrorForCode(m.ErrorCode); err != nil {
			return err
		}
	}
	return nil
}
