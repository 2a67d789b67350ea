package kinesis

import (
	"context"
	"errors"
	"time"
)

// coordinate renews the held leases and, while Run runs, takes and balances leases and keeps
// the shard list in sync. One goroutine, from Run until Close: renewal must go on while the
// runtime drains after Run returned, or the leases would expire under a worker that is still
// committing.
func (s *Source) coordinate() {
	tick := time.NewTicker(s.cfg.renewInterval())
	defer tick.Stop()
	sync := time.NewTicker(s.cfg.ShardSyncInterval)
	defer sync.Stop()
	t := &taker{seen: map[string]observed{}, asked: map[string]string{}}
	s.takeRound(t)
	for {
		select {
		case <-tick.C:
			s.renewAll()
			s.renewLeader()
			s.takeRound(t)
		case <-s.wake:
			s.takeRound(t)
		case <-sync.C:
			s.syncAndTake(t)
		case <-s.syncNow:
			s.syncAndTake(t)
		case <-s.leaseCtx.Done():
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.renewInterval())
			s.releaseLeader(ctx)
			cancel()
			return
		}
	}
}

func (s *Source) syncAndTake(t *taker) {
	if s.runCtx.Err() != nil {
		return
	}
	s.syncOnce(s.runCtx)
	s.takeRound(t)
}

// syncOnce runs one shard sync, bounded by LeaseDuration as a take round is: a DynamoDB or
// Kinesis that stops answering must not hold the coordinator (and Run, at start) silently
// until shutdown. A failure is logged unless Run is stopping.
func (s *Source) syncOnce(runCtx context.Context) {
	ctx, cancel := context.WithTimeout(runCtx, s.cfg.LeaseDuration)
	defer cancel()
	if err := s.syncShards(ctx); err != nil && runCtx.Err() == nil {
		s.log.Warn("shard sync failed; retrying", "err", err)
	}
}

// renewAll bumps every held lease's counter. A lease whose fencing condition fails was taken by
// another worker; a lease this worker could not renew for LeaseDuration (DynamoDB unreachable)
// is given up too, because other workers consider it expired by then and may be reading it.
func (s *Source) renewAll() {
	for _, h := range s.heldLeases() {
		ctx, cancel := context.WithTimeout(s.leaseCtx, s.cfg.renewInterval())
		err := s.renew(ctx, h)
		cancel()
		switch {
		case errors.Is(err, errLeaseLost):
			s.loseLease(h, "renewal refused: the lease counter moved")
		case err != nil && time.Since(s.lastRenew(h)) > s.cfg.LeaseDuration:
			s.loseLease(h, "not renewed within lease_duration: "+err.Error())
		case err != nil && s.leaseCtx.Err() == nil:
			s.log.Warn("lease renewal failed; retrying", "shard", h.shard, "err", err)
		}
	}
}

func (s *Source) renew(ctx context.Context, h *held) error {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	if h.gone.Load() {
		return nil // released or handed over a moment ago
	}
	if h.lost.Load() {
		return errLeaseLost
	}
	handoff, err := s.fencedWrite(ctx, h, func(ctx context.Context, counter int64) (int64, string, error) {
		return s.store.renew(ctx, h.shard, s.cfg.WorkerID, counter)
	})
	if err != nil {
		return err
	}
	if handoff != "" && handoff != s.cfg.WorkerID && h.handoffTo.CompareAndSwap(nil, &handoff) {
		// Another worker asked for this lease to balance the fleet: stop reading; the reader's
		// exit drains the shard and hands the lease over (see handOver).
		s.log.Info("handing a lease over", "shard", h.shard, "to", handoff)
		h.cancel()
	}
	return nil
}

func (s *Source) lastRenew(h *held) time.Time {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	return h.lastRenew
}

// taker is the coordinator's memory between rounds.
type taker struct {
	// seen is each lease's owner and counter as last scanned, and since when (local clock):
	// a lease is expired when its counter has not moved for LeaseDuration. Only local time
	// differences are compared, so workers' clocks need not agree.
	seen       map[string]observed
	lastVictim string // damping: steal only when two rounds in a row chose the same victim
	// asked is the owner this worker asked to hand each shard over, until the handover
	// arrives or the request is gone: the handover writes this worker as the owner, so the
	// row no longer says whose lease it was.
	asked map[string]string
}

type observed struct {
	owner   string
	counter int64
	since   time.Time
}

// takeRound scans the lease table, takes free and expired leases up to this worker's share,
// steals one when the fleet is out of balance, and starts a reader for each lease taken.
func (s *Source) takeRound(t *taker) {
	if s.runCtx.Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(s.runCtx, s.cfg.LeaseDuration)
	defer cancel()
	all, leaderRow, err := s.store.scan(ctx)
	if err != nil {
		if s.runCtx.Err() == nil { // a scan that ran out of time is a failure too; a stop is not
			s.log.Warn("scanning the lease table failed", "err", err)
		}
		return
	}
	stamp(&s.ready.scanned)
	now := time.Now()
	s.leaderRound(ctx, leaderRow, now)
	present := make(map[string]bool, len(all))
	for _, l := range all {
		present[l.Shard] = true
		o, ok := t.seen[l.Shard]
		if !ok || o.owner != l.Owner || o.counter != l.Counter {
			t.seen[l.Shard] = observed{owner: l.Owner, counter: l.Counter, since: now}
		}
	}
	for id := range t.seen {
		if !present[id] {
			delete(t.seen, id)
		}
	}
	for _, l := range all {
		if _, ok := t.asked[l.Shard]; ok && l.Handoff != s.cfg.WorkerID && l.Owner != s.cfg.WorkerID {
			delete(t.asked, l.Shard) // the request is gone (the owner died, or gave it up)
		}
	}
	for id := range t.asked {
		if !present[id] {
			delete(t.asked, id)
		}
	}
	expired := func(l lease) bool {
		return l.Owner != "" && now.Sub(t.seen[l.Shard].since) > s.cfg.LeaseDuration
	}
	heldNow := map[string]bool{}
	for _, id := range s.Held() {
		heldNow[id] = true
	}
	take, steal := balance(s.cfg.WorkerID, activeLeases(all), heldNow, expired, s.rnd)
	for _, l := range take {
		event, prev := "taken", l.Owner
		switch {
		case l.Owner == s.cfg.WorkerID && t.asked[l.Shard] != "":
			event, prev = "taken_handoff", t.asked[l.Shard]
		case l.Owner != "" && l.Owner != s.cfg.WorkerID:
			event = "taken_expired"
		}
		delete(t.asked, l.Shard)
		s.takeLease(ctx, l, event, prev)
	}
	if steal == nil {
		t.lastVictim = ""
		return
	}
	if t.lastVictim != steal.Owner {
		t.lastVictim = steal.Owner
		return
	}
	t.lastVictim = ""
	// Ask rather than take: the owner drains and checkpoints first, so nothing is read twice.
	// A dead owner never answers; its lease then expires and is taken as usual.
	if err := s.store.requestHandoff(ctx, *steal, s.cfg.WorkerID); err == nil {
		t.asked[steal.Shard] = steal.Owner
		s.m.leaseEvents.WithLabelValues("handoff_requested").Inc()
		s.log.Info("asked for a lease to balance the fleet", "shard", steal.Shard, "owner", steal.Owner)
	} else if !errors.Is(err, errLeaseLost) {
		s.log.Warn("asking for a lease failed", "shard", steal.Shard, "err", err)
	}
}

// takeLease writes this worker as the owner of l (fenced on the counter as scanned) and starts
// its reader. prev is the worker that held it before (for the log).
func (s *Source) takeLease(ctx context.Context, l lease, event, prev string) {
	counter, err := s.store.take(ctx, l, s.cfg.WorkerID)
	if errors.Is(err, errLeaseLost) {
		return // another worker was faster
	}
	if err != nil {
		s.log.Warn("taking a lease failed", "shard", l.Shard, "err", err)
		return
	}
	rctx, cancel := context.WithCancel(s.runCtx)
	h := &held{shard: l.Shard, part: s.partition(l.Shard), start: l, counter: counter, lastRenew: time.Now(),
		cancel: cancel, done: make(chan struct{})}
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		cancel()
		// Run is returning: hand the lease straight back.
		rel, rcancel := context.WithTimeout(s.leaseCtx, s.cfg.renewInterval())
		_, _ = s.store.release(rel, l.Shard, s.cfg.WorkerID, counter)
		rcancel()
		return
	}
	if _, ok := s.held[l.Shard]; ok {
		// Still held in memory although the table named another owner: our renewal will find
		// out and stop the reader; taking it back before then would run two readers at once.
		s.mu.Unlock()
		cancel()
		return
	}
	// A previous reader of this shard (whose lease was lost or given back) may still be
	// revoking its partition: the new reader waits for it, so the runtime never sees the two
	// overlap.
	h.prev = s.lastReader[l.Shard]
	s.lastReader[l.Shard] = h.done
	s.held[l.Shard] = h
	s.m.leasesHeld.Set(float64(len(s.held)))
	s.readers.Add(1)
	s.mu.Unlock()
	s.m.leaseEvents.WithLabelValues(event).Inc()
	s.log.Info("lease taken", "shard", l.Shard, "event", event, "previous_owner", prev, "checkpoint", l.Checkpoint)
	go s.read(rctx, h)
}
