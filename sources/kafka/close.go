package kafka

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// handOff is how long Close lets franz-go leave by itself before it concludes that a JoinGroup
// or SyncGroup in flight holds it, and acts directly. It is one round trip to the coordinator
// otherwise.
const handOff = 500 * time.Millisecond

// Close stores the last checkpoints and leaves the group, within ctx (the part of the shutdown
// reserved for commit and release). Call it after the runtime has closed, so every durable
// window has been committed to the source.
//
// The commit is weir's own OffsetCommit (commit.go) in the member id and generation franz-go
// holds: franz-go holds its own commits during a JoinGroup or SyncGroup in flight, but the
// coordinator takes commits of the current generation while it prepares a rebalance (it
// refuses them only while it completes one). franz-go's leave waits for the group loop, which
// waits for a join in flight, up to the rebalance timeout (60s by default: past any ECS stop
// timeout). So the leave is franz-go's Close, in a goroutine; if it has not finished within
// handOff, a LeaveGroup is sent directly, so the coordinator drops this member now and the
// rebalance in flight completes without waiting for it; franz-go's Close is then waited for
// until ctx ends, and abandoned (the process is about to exit).
//
// A commit that fails is returned (and counted in weir_kafka_commit_errors_total): its
// records will be read again by the partition's next owner. A leave that did not finish is
// logged, not returned: nothing is lost, and the group drops a member it does not hear from
// after session_timeout.
func (s *Source) Close(ctx context.Context) error {
	if s.stopCommits != nil {
		s.stopCommits()
		<-s.commitsDone
	}
	err := s.commits.flush(ctx) // counts its own failures in weir_kafka_commit_errors_total
	s.leave(ctx)
	s.pm.RetireStageClock("source", s.clock)
	return err
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
