package kafka

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/pipeline"
)

// gate is one owned partition's flow control, all of it: whether fetching the partition is
// paused and why, the batches fetched for it that its runner has not taken yet, and how a
// fetched batch is handed over. Three rules decide, each for a reason:
//
//   - The runner is busy (its queue is full and it is working through it): the poll loop waits
//     for it (hand), up to the fetch max wait, instead of pausing. A paused partition is left
//     out of the next fetch, and if the rest of its broker is caught up that fetch waits out the
//     broker's full max wait before the partition is read again. The poll loop does not wait
//     while other partitions' batches wait here, because only it offers those to their runners.
//   - The runner is blocked (its windows wait for the sinks: Feed refuses batches then), or
//     stayed busy for the whole wait: the batch waits here and the partition is paused (reason
//     "runner") until the runner has taken it; the poll loop offers it again every
//     pendingRecheck (retry). So a stall costs at most one fetch per partition beyond the budget.
//   - The runner's store is behind (a closed window waits behind another not yet durable) and
//     the runner has a batch: the partition is paused (reason "store") until the runner has
//     finished it (Feed.ReadAhead), the poll loop looking again every pendingRecheck. The
//     runner may block any moment, and a batch fetched meanwhile would wait out the stall beside
//     the one it blocks in: so a partition blocked on its store holds one batch, not two.
//   - The in-flight budget is full: every partition holding bytes of it is paused (reason
//     "budget") until usage falls below 90% of the budget (see Source.underBudget); partitions
//     holding none keep fetching: pausing them would free nothing, and their windows (and the
//     fleet's reports, which wait for every partition's partial) would stop closing.
//
// A partition is fetched again when no reason is left. Concurrency: the poll loop calls hand and
// retry; the group callbacks close; the source's budget and caught-up checks the rest. mu guards
// pending, paused, closed and handed, and is taken after Source.mu, never before; it is not held
// while hand waits for a runner.
type gate struct {
	key  tp
	feed *pipeline.Feed
	cl   *kgo.Client
	m    *metrics
	// inflight is the bytes of this partition's batches not yet released by its runner.
	inflight atomic.Int64

	mu      sync.Mutex
	pending []pipeline.Batch // fetched, refused by the runner; the partition is paused meanwhile
	paused  pauseReason      // why fetching is paused; resumed when no reason is left
	closed  bool             // revoked or lost: nothing is handed over any more
	// handed is the offset after the last record the runner's feed has taken, or where reading
	// starts (markCaughtUp): a confirmation queued behind them says nothing below it waits.
	handed int64
}

// pendingRecheck is how often a poll loop with batches waiting in gates wakes up to offer them
// again. Short, because a runner resumes as soon as its sink returns.
const pendingRecheck = 20 * time.Millisecond

// pauseReason is a set of reasons a partition's fetching is paused.
type pauseReason uint8

const (
	pausedQueueFull pauseReason = 1 << iota // the runner cannot take the batch: it waits in pending
	pausedBudget                            // the budget is full and this partition holds some of it
	pausedStore                             // the store is behind and the runner has a batch: no read-ahead
)

// String names the reason in weir_kafka_pauses_total.
func (r pauseReason) String() string {
	switch r {
	case pausedBudget:
		return "budget"
	case pausedStore:
		return "store"
	}
	return "runner"
}

func newGate(key tp, feed *pipeline.Feed, cl *kgo.Client, m *metrics) *gate {
	return &gate{key: key, feed: feed, cl: cl, m: m}
}

// hand gives b to the runner: at once if its queue has room; else, if no batch waits here
// already, after waiting up to wait for a runner that is busy but not blocked. A batch the
// runner did not take waits here, the partition is paused, and hand reports true; so it does
// when the runner took b but the partition is held back (holdBack). It is called by the poll
// loop only, without Source.mu held (commits take it).
func (g *gate) hand(ctx context.Context, b pipeline.Batch, wait time.Duration) (recheck bool) {
	g.mu.Lock()
	queued := len(g.pending) > 0
	g.mu.Unlock()
	if !queued && g.feed.SendWhileBusy(ctx, b, wait) {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.took(b)
		return !g.closed && g.holdBack()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		// Revoked while the runner was waited for: the next owner reads these records again.
		g.m.discarded.WithLabelValues("revoked").Add(float64(len(b.Records)))
		b.Done()
		return false
	}
	g.pending = append(g.pending, b)
	g.pause(pausedQueueFull)
	return true
}

// retry offers the waiting batches to the runner again, in order, resumes the partition once
// the runner took them all and may read ahead (holdBack), and reports whether the gate is to be
// looked at again: batches still wait, or the partition is held back.
func (g *gate) retry() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || len(g.pending) == 0 && g.paused&pausedStore == 0 {
		return false
	}
	for len(g.pending) > 0 && g.feed.TrySend(g.pending[0]) {
		g.took(g.pending[0])
		g.pending[0] = pipeline.Batch{}
		g.pending = g.pending[1:]
	}
	if len(g.pending) > 0 {
		return true
	}
	g.pending = nil
	g.resume(pausedQueueFull)
	return g.holdBack()
}

// holdBack pauses the partition while the runner should not read ahead (Feed.ReadAhead: its
// store is behind and it has a batch) and resumes it once it may; it reports whether the
// partition is held back. g.mu is held.
func (g *gate) holdBack() bool {
	if g.feed.ReadAhead() {
		g.resume(pausedStore)
		return false
	}
	g.pause(pausedStore)
	return true
}

// budgetFull pauses the partition for the budget if it holds part of it and resumes it if it
// holds none; it reports whether the partition is left to fetch.
func (g *gate) budgetFull() (fetching bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.inflight.Load() == 0 {
		g.resume(pausedBudget)
		return true
	}
	g.pause(pausedBudget)
	return false
}

// budgetFreed lifts the budget pause.
func (g *gate) budgetFreed() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.resume(pausedBudget)
}

// took notes that the runner's feed has taken b. g.mu is held.
func (g *gate) took(b pipeline.Batch) {
	if n := len(b.Records); n > 0 {
		g.handed = max(g.handed, b.Records[n-1].Position.Offset+1)
	}
}

// caughtUp tells the runner that the partition, read from offset from on, had nothing to read
// as of at (an empty Batch), as the check at assignment found: see confirm.
func (g *gate) caughtUp(p pipeline.Partition, at time.Time, from int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.handed = max(g.handed, from)
	g.confirmLocked(p, at, from)
}

// confirm tells the runner that the partition had nothing more to read as of at, when the end
// offset then was end (an empty Batch), if its feed has taken every record below end: not while
// batches wait here, nor while hand offers one (the confirmation would overtake it), whatever
// the offsets said a moment ago. A full queue means the same, so the signal is not waited for.
func (g *gate) confirm(p pipeline.Partition, at time.Time, end int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.confirmLocked(p, at, end)
}

func (g *gate) confirmLocked(p pipeline.Partition, at time.Time, end int64) {
	if len(g.pending) == 0 && !g.closed && end <= g.handed {
		g.feed.TrySend(pipeline.Batch{Partition: p, CaughtUpAt: at})
	}
}

// close ends the gate when the partition is revoked or lost: nothing more is handed over, the
// pause is forgotten (the client drops the partition), and the batches that waited are returned
// for the caller to release (Done) once it no longer holds a lock.
func (g *gate) close() []pipeline.Batch {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	waited := g.pending
	g.pending = nil
	if len(waited) > 0 {
		g.m.discarded.WithLabelValues("revoked").Add(float64(countRecords(waited)))
	}
	if g.paused != 0 {
		g.paused = 0
		g.m.paused.Dec()
	}
	return waited
}

func (g *gate) pause(why pauseReason) {
	if g.paused&why != 0 {
		return
	}
	if g.paused == 0 {
		g.m.paused.Inc()
		g.m.pauses.WithLabelValues(why.String()).Inc()
		g.cl.PauseFetchPartitions(map[string][]int32{g.key.topic: {g.key.partition}})
	}
	g.paused |= why
}

func (g *gate) resume(why pauseReason) {
	if g.paused&why == 0 {
		return
	}
	g.paused &^= why
	if g.paused == 0 {
		g.m.paused.Dec()
		g.cl.ResumeFetchPartitions(map[string][]int32{g.key.topic: {g.key.partition}})
	}
}

// underBudget applies the in-flight budget before a poll. When the budget is full, or was and
// usage has not yet fallen below 90% of it (the hysteresis keeps partitions from flapping on
// every release), it pauses every partition holding part of it (gate.budgetFull); if none is
// left to fetch it waits for a release and looks again. It returns false if ctx ended while
// waiting. Poll loop only.
func (s *Source) underBudget(ctx context.Context) bool {
	for {
		if !s.budget.Full() && !s.budgetPaused {
			return true
		}
		released := s.budget.Released()
		if s.budget.InUse() < s.budget.Limit()*9/10 {
			s.eachGate(func(g *gate) bool { g.budgetFreed(); return false })
			s.budgetPaused = false
			return true
		}
		if !s.budgetPaused {
			s.m.budgetWaits.Inc()
			s.budgetPaused = true
		}
		// Stopping all fetching here would deadlock, and so would leaving a partition paused
		// once it has drained to nothing: so this is re-evaluated after every release.
		if s.eachGate((*gate).budgetFull) {
			return true
		}
		s.clock.Enter(pipeline.StageBackpressured)
		select {
		case <-released:
		case <-ctx.Done():
			return false
		}
	}
}

// retryWaiting offers every partition's waiting batches to its runner again, resumes the
// partitions held back that may read ahead again, and reports whether any gate is to be looked
// at again (gate.retry). Poll loop only.
func (s *Source) retryWaiting() bool { return s.eachGate((*gate).retry) }

// eachGate calls fn for the gate of every owned partition not being revoked, under s.mu, and
// reports whether fn returned true for any.
func (s *Source) eachGate(fn func(*gate) bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	found := false
	for _, o := range s.owned {
		if !o.revoking && fn(o.gate) {
			found = true
		}
	}
	return found
}
