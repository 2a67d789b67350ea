package kinesis

import (
	"context"
	"errors"
	"sync"
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
// without it the worker never takes the row. fn is called from the coordinator goroutine (a
// take) or the row's renewal goroutine (a loss, a release), never twice at once and always in
// order (a term ends before the next begins); it must return promptly (a lost term must stop
// within a renewal interval).
func (s *Source) WatchLeadership(fn func(held bool, token int64)) { s.leader.fn = fn }

// leadership is this worker's state of the aggregator's row. The coordinator takes the row
// (leaderRound, in a take round) and leaderLoop renews and releases it: mu guards the state
// and is held while fn runs, so a term's start and end reach fn in the order they happened.
// mu is never held during a write of the row: a take happens only while the row is not held
// and a renewal only while it is, so the two never write the row at once.
type leadership struct {
	fn func(held bool, token int64)

	mu      sync.Mutex
	held    bool
	counter int64     // the row's counter after this worker's last write
	renewed time.Time // when it was last renewed
	seen    observed  // the row as last scanned, and since when (coordinator only)
}

// leaderRound takes part in the election once per take round: it creates the row if the table
// has none, and takes it when it is free or expired (its counter has not moved for
// LeaseDuration, by this worker's clock: expiry.go). began and end bound the scan that read row.
func (s *Source) leaderRound(ctx context.Context, row *lease, began, end time.Time) {
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
	ld.seen.see(row.Owner, row.Counter, end)
	ld.mu.Lock()
	held := ld.held
	ld.mu.Unlock()
	if held {
		return // renewed by leaderLoop
	}
	if row.Owner != "" && !ld.seen.expired(began, s.cfg.LeaseDuration) {
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
	ld.mu.Lock()
	defer ld.mu.Unlock()
	ld.held, ld.counter, ld.renewed = true, counter, time.Now()
	s.m.leaseEvents.WithLabelValues("aggregator_taken").Inc()
	s.log.Info("aggregator lease taken: this worker runs the fleet's aggregator", "previous_owner", row.Owner, "token", counter)
	ld.fn(true, counter)
}

// leaderLoop renews the aggregator's row every RenewInterval while this worker holds it, on a
// goroutine of its own: neither the coordinator's scans and shard syncs nor the shard leases'
// renewals (nor fn, which may wait for the aggregator to stop) delay it. At Close it gives the
// row up, once the coordinator has stopped (so no take round can take it again after).
func (s *Source) leaderLoop() {
	tick := time.NewTicker(s.cfg.renewInterval())
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			s.renewLeader()
		case <-s.leaseCtx.Done():
			<-s.coordDone
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.renewInterval())
			s.releaseLeader(ctx)
			cancel()
			return
		}
	}
}

// renewLeader renews the aggregator's row if this worker holds it, and gives the term up when
// the row was taken by another worker or could not be renewed for LeaseDuration (others
// consider it expired by then).
func (s *Source) renewLeader() {
	ld := &s.leader
	ld.mu.Lock()
	held, cur := ld.held, ld.counter
	ld.mu.Unlock()
	if !held {
		return
	}
	ctx, cancel := context.WithTimeout(s.leaseCtx, s.cfg.renewInterval())
	counter, _, err := s.store.renew(ctx, leaderKey, s.cfg.WorkerID, cur)
	cancel()
	ld.mu.Lock()
	defer ld.mu.Unlock()
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

// loseLeader ends the term; ld.mu is held.
func (s *Source) loseLeader(why string) {
	ld := &s.leader
	ld.held = false
	s.m.leaseEvents.WithLabelValues("aggregator_lost").Inc()
	s.log.Warn("aggregator lease lost; the aggregator stops", "why", why)
	ld.fn(false, 0)
}

// releaseLeader ends this worker's term and gives the row up, so another worker takes over at
// once instead of after LeaseDuration.
func (s *Source) releaseLeader(ctx context.Context) {
	ld := &s.leader
	ld.mu.Lock()
	held, cur := ld.held, ld.counter
	if held {
		ld.held = false
		ld.fn(false, 0)
	}
	ld.mu.Unlock()
	if !held {
		return
	}
	if _, err := s.store.release(ctx, leaderKey, s.cfg.WorkerID, cur); err != nil && !errors.Is(err, errLeaseLost) {
		s.log.Warn("releasing the aggregator's lease failed; it expires instead", "err", err)
		return
	}
	s.m.leaseEvents.WithLabelValues("aggregator_released").Inc()
}
