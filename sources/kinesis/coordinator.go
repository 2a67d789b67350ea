package kinesis

import (
	"context"
	"errors"
	"time"
)

// coordinate takes and balances leases and keeps the shard list in sync, from Run until Run
// stops. Renewals run apart (renewLoop, leaderLoop): a take round scans the lease table and a
// shard sync lists the shards, each bounded by LeaseDuration, and neither may delay them.
func (s *Source) coordinate() {
	defer close(s.coordDone)
	tick := time.NewTicker(s.cfg.renewInterval())
	defer tick.Stop()
	sync := time.NewTicker(s.cfg.ShardSyncInterval)
	defer sync.Stop()
	t := &taker{seen: map[string]observed{}, asked: map[string]string{}}
	s.takeRound(t)
	for {
		select {
		case <-tick.C:
			s.takeRound(t)
		case <-s.wake:
			s.takeRound(t)
		case <-sync.C:
			s.syncAndTake(t)
		case <-s.syncNow:
			s.syncAndTake(t)
		case <-s.runCtx.Done():
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

// taker is the coordinator's memory between rounds.
type taker struct {
	// seen is each lease's owner and counter as last scanned, and since when (expiry.go).
	seen       map[string]observed
	lastVictim string // damping: steal only when two rounds in a row chose the same victim
	// asked is the owner this worker asked to hand each shard over, until the handover
	// arrives or the request is gone: the handover writes this worker as the owner, so the
	// row no longer says whose lease it was.
	asked map[string]string
}

// takeRound scans the lease table, takes free and expired leases up to this worker's share,
// steals one when the fleet is out of balance, and starts a reader for each lease taken.
func (s *Source) takeRound(t *taker) {
	if s.runCtx.Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(s.runCtx, s.cfg.LeaseDuration)
	defer cancel()
	began := time.Now()
	all, leaderRow, err := s.store.scan(ctx)
	if err != nil {
		if s.runCtx.Err() == nil { // a scan that ran out of time is a failure too; a stop is not
			s.log.Warn("scanning the lease table failed", "err", err)
		}
		return
	}
	stamp(&s.ready.scanned)
	end := time.Now()
	s.leaderRound(ctx, leaderRow, began, end)
	present := make(map[string]bool, len(all))
	for _, l := range all {
		present[l.Shard] = true
		o := t.seen[l.Shard]
		o.see(l.Owner, l.Counter, end)
		t.seen[l.Shard] = o
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
	expired := func(l lease) bool { return t.seen[l.Shard].expired(began, s.cfg.LeaseDuration) }
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
	// The take renews from when it was sent, as every fenced write does (fencedWrite).
	sent := time.Now()
	counter, err := s.store.take(ctx, l, s.cfg.WorkerID)
	if errors.Is(err, errLeaseLost) {
		return // another worker was faster
	}
	if err != nil {
		s.log.Warn("taking a lease failed", "shard", l.Shard, "err", err)
		return
	}
	rctx, cancel := context.WithCancel(s.runCtx)
	h := &held{shard: l.Shard, part: s.partition(l.Shard), start: l, counter: counter, lastRenew: sent,
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
	if s.lagTracker != nil {
		s.lagTracker.Track(h.part)
	}
	s.readers.Add(1)
	s.mu.Unlock()
	s.m.leaseEvents.WithLabelValues(event).Inc()
	s.log.Info("lease taken", "shard", l.Shard, "event", event, "previous_owner", prev, "checkpoint", l.Checkpoint)
	go s.read(rctx, h)
}
