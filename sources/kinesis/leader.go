package kinesis

import (
	"context"
	"errors"
	"time"
)

// The fleet's aggregator runs on the worker that holds one more row of the lease table,
// leaseKey "weir#aggregator": taken when free or expired and renewed like a shard lease, every
// write fenced on its owner and counter. The counter at the take is the term's fencing token:
// it only grows, so a later aggregator's token is always higher than an earlier one's.
const (
	leaderKey = "weir#aggregator"
	// cpLeader is the row's checkpoint: it has no shard, but every row of the table has one.
	cpLeader = "AGGREGATOR"
)

// WatchLeadership makes the worker contend for the aggregator's row and calls fn(true, token)
// when it takes the row and fn(false, 0) when it loses or releases it. Call it before Run;
// without it the worker never takes the row. fn is called from the coordinator goroutine, so
// it must return promptly (a lost term must stop within a renewal interval).
func (s *Source) WatchLeadership(fn func(held bool, token int64)) { s.leader.fn = fn }

// leadership is the coordinator's state of the aggregator's row.
type leadership struct {
	fn      func(held bool, token int64)
	held    bool
	counter int64     // the row's counter after this worker's last write
	renewed time.Time // when it was last renewed
	seen    observed  // the row as last scanned, and since when
}

// leaderRound takes part in the election once per take round: it creates the row if the table
// has none, renews it if this worker holds it, and takes it when it is free or expired (its
// counter has not moved for LeaseDuration, by this worker's clock).
func (s *Source) leaderRound(ctx context.Context, row *lease, now time.Time) {
	ld := &s.leader
	if ld.fn == nil {
		return
	}
	if row == nil {
		if _, err := s.store.create(ctx, lease{Shard: leaderKey, Checkpoint: cpLeader}); err != nil {
			s.log.Warn("creating the aggregator's lease failed; retrying", "err", err)
		}
		return
	}
	if ld.seen.owner != row.Owner || ld.seen.counter != row.Counter {
		ld.seen = observed{owner: row.Owner, counter: row.Counter, since: now}
	}
	if ld.held {
		return // renewed by renewLeader
	}
	if row.Owner != "" && now.Sub(ld.seen.since) <= s.cfg.LeaseDuration {
		return // held by a live worker
	}
	counter, err := s.store.take(ctx, *row, s.cfg.WorkerID)
	if errors.Is(err, errLeaseLost) {
		return // another worker was faster
	}
	if err != nil {
		s.log.Warn("taking the aggregator's lease failed", "err", err)
		return
	}
	ld.held, ld.counter, ld.renewed = true, counter, now
	s.m.leaseEvents.WithLabelValues("aggregator_taken").Inc()
	s.log.Info("aggregator lease taken: this worker runs the fleet's aggregator", "previous_owner", row.Owner, "token", counter)
	ld.fn(true, counter)
}

// renewLeader renews the aggregator's row if this worker holds it, and gives the term up when
// the row was taken by another worker or could not be renewed for LeaseDuration (others
// consider it expired by then).
func (s *Source) renewLeader() {
	ld := &s.leader
	if !ld.held {
		return
	}
	ctx, cancel := context.WithTimeout(s.leaseCtx, s.cfg.renewInterval())
	counter, _, err := s.store.renew(ctx, leaderKey, s.cfg.WorkerID, ld.counter)
	cancel()
	switch {
	case err == nil:
		ld.counter, ld.renewed = counter, time.Now()
	case errors.Is(err, errLeaseLost):
		s.loseLeader("renewal refused: the counter moved")
	case time.Since(ld.renewed) > s.cfg.LeaseDuration:
		s.loseLeader("not renewed within lease_duration: " + err.Error())
	default:
		s.log.Warn("renewing the aggregator's lease failed; retrying", "err", err)
	}
}

func (s *Source) loseLeader(why string) {
	ld := &s.leader
	ld.held = false
	s.m.leaseEvents.WithLabelValues("aggregator_lost").Inc()
	s.log.Warn("aggregator lease lost; the aggregator stops", "why", why)
	ld.fn(false, 0)
}

// releaseLeader ends this worker's term and gives the row up, so another worker takes over at
// once instead of after LeaseDuration. The coordinator calls it as it stops.
func (s *Source) releaseLeader(ctx context.Context) {
	ld := &s.leader
	if !ld.held {
		return
	}
	ld.held = false
	ld.fn(false, 0)
	if _, err := s.store.release(ctx, leaderKey, s.cfg.WorkerID, ld.counter); err != nil && !errors.Is(err, errLeaseLost) {
		s.log.Warn("releasing the aggregator's lease failed; it expires instead", "err", err)
		return
	}
	s.m.leaseEvents.WithLabelValues("aggregator_released").Inc()
}
