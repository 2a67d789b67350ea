package pipeline

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The commit path, top to bottom: how a record a runner has read becomes part of a commit
// point its source may store, and what happens when that cannot be.
//
//  1. Holds. Whatever a runner reads ends in a window's partial or in a dead letter. Before it
//     folds a record into a window it has not opened yet, or dead-letters the first record of
//     a batch's group of letters, it takes a hold (holds.take) remembering that record, the
//     record read just before it (prev) and the partition's closedThrough at that moment
//     (checkpoint.go). Windows hold positions, never records: a hold costs a few words, however
//     many records its window takes. An empty partial (a window that closed without a record or
//     a count in it) holds nothing: losing it loses nothing.
//
//  2. Acks. Each hold travels as an ack with what it covers: a closed window's partial to the
//     partition's partial writer (partials.go), a group of letters to the dead-letter queue
//     (deadletterqueue.go). The writer calls ack.durable once the store has it, which releases
//     the hold; or ack.abandon when it never will (the stop deadline passed), which leaves the
//     hold in place for good: the commit point never passes it, and whoever owns the partition
//     next reads those records again. A runner that stops abandons its open windows the same
//     way (stop, below): their partials are never written, because a partial is keyed by window
//     and partition only, and the next owner writes the whole window again.
//
//  3. The commit point is the checkpoint just before the earliest hold not released: its prev
//     and its closedThrough; with no hold, the last record read and the closedThrough now. Every
//     window ending at or before that closedThrough is durable (or had nothing in it), and so is
//     every record at or before that position. holds.commitLocked computes it and hands it to
//     the Committer whenever it moves; the source stores the latest one.
//
//  4. Straddlers. A window can be durable while records before and after the commit position
//     are in it (it closed while an earlier window stayed open: out-of-order data within the
//     lateness does this near every window boundary). A replay from the commit point must not
//     write it again with its tail only. So the checkpoint also lists the durable windows that
//     were open at the commit point (CheckpointState.Straddlers): a replay keeps them open
//     without state and swallows what the first run counted in them (replay.go). There are
//     at most MaxStraddlers; a commit point that would need more is held back (counted).
//
//  5. Revoke and shutdown (stop). The runner stops taking batches, releases those queued
//     unprocessed, queues its last dead letters, abandons its open windows and hands the
//     partition's writer nothing more; the writer finishes the partials it has, until the
//     deadline, and abandons the rest. Revoke also waits, until the same deadline, for the
//     partition's letters to be written (the dead-letter writer is told not to linger). Then
//     holds.revoke: no Commit for the partition ever again, and acks arriving later are
//     counted (weir_late_acks_total) and dropped. The source stores the last commit point it
//     was given, which is as far as everything durable reaches.

// ack is what a writer holds for what it writes, and the one way anything the runtime makes
// durable releases its hold. The zero ack holds nothing.
type ack struct {
	h  *holds
	id uint64
	// win, for a window's partial, is what the window's release leaves behind: the straddler it
	// may be at a later commit point.
	win *closedSpan
}

// closedSpan is a window handed to the partial writer: its extent, and the last position
// counted in it (a folded record or a dead letter counted there).
type closedSpan struct {
	start, end int64
	last       Position
}

// durable releases the hold: what it covers is in the store.
func (a ack) durable() {
	if a.h != nil {
		a.h.release(a.id, a.win)
	}
}

// abandon leaves the hold in place for good: what it covers will not be written by this
// runner, so its records must be read again by the partition's next owner.
func (a ack) abandon() {
	if a.h != nil {
		a.h.abandon(a.id)
	}
}

// holds tracks, for one partition, the holds not yet released and turns releases into commit
// points (1–4 above). It is shared by the partition's runner (take, processed, advance) and the
// writers' goroutines (release, abandon). A flood of bad records holds many groups at once, so
// take, release and the commit point are O(log n) or amortized O(1), not scans. The runner
// takes holds in reading order, so open is sorted by id and by first position alike.
type holds struct {
	partition Partition
	period    int64
	committer Committer
	lateAcks  prometheus.Counter // a release after revoke
	heldBack  prometheus.Counter // a commit point not stored: it would need too many straddlers

	mu     sync.Mutex
	nextID uint64
	// open holds the holds in take order from the earliest one not released: released ones
	// further on stay until everything before them is released too, or until they outnumber
	// the others (see drop).
	open  []hold
	live  int // taken, neither released nor abandoned
	stuck int // abandoned
	// last is the last record read, closed the closedThrough after it: the commit point when
	// nothing is held.
	last    Position
	hasLast bool
	closed  int64
	// durable are released windows that may be straddlers of a commit point to come (step 4):
	// those that ended after the last committed closedThrough.
	durable   []durableSpan
	committed Checkpoint
	hasCommit bool
	revoked   bool
	empty     chan struct{} // closed when live drops to zero while someone waits (see drained)
}

type hold struct {
	id      uint64
	first   Position
	prev    Position
	hasPrev bool
	closed  int64 // the partition's closedThrough when the hold was taken
	done    bool  // released
	stuck   bool  // abandoned: never released
}

// durableSpan is a released window: a straddler of every commit position at or after its first
// position whose closedThrough is before its end.
type durableSpan struct {
	closedSpan
	first Position
}

// compactAfter is how many released holds may wait behind an unreleased one before they are
// dropped.
const compactAfter = 64

func newHolds(p Partition, period int64, c Committer, m *Metrics) *holds {
	return &holds{partition: p, period: period, committer: c, lateAcks: m.lateAcks, heldBack: m.heldBack}
}

// restore starts the partition from a checkpoint: it is the commit point already stored, the
// position the first hold falls back to, and its straddlers stay straddlers until a commit
// point's closedThrough passes them.
func (h *holds) restore(c Checkpoint) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.committed, h.hasCommit = c, true
	h.last, h.hasLast, h.closed = c.Position, true, c.State.ClosedThrough
	for _, s := range c.State.Straddlers {
		h.durable = append(h.durable, durableSpan{first: c.Position,
			closedSpan: closedSpan{start: s.Start, end: s.Start + h.period, last: s.Last}})
	}
}

// take opens a hold whose first record is at first; prev is the record read just before it
// (hasPrev false for the first record since the partition was assigned without a
// checkpoint), closed the partition's closedThrough before first is read. The runner calls it
// before folding first in, so the hold is in place before anything can commit past it.
func (h *holds) take(first, prev Position, hasPrev bool, closed int64) ack {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.nextID++
	h.open = append(h.open, hold{id: h.nextID, first: first, prev: prev, hasPrev: hasPrev, closed: closed})
	h.live++
	return ack{h: h, id: h.nextID}
}

// processed records that every record up to and including pos has been folded into a window
// or dead-lettered, and that closed is the closedThrough after it. It may move the commit
// point when nothing is held.
func (h *holds) processed(pos Position, closed int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.last, h.hasLast, h.closed = pos, true, closed
	h.commitLocked()
}

// advance records a closedThrough the wall clock moved (rule 5 of eventtime.go) with no record
// read since processed: with nothing held, the commit point carries it, so a replay starts
// from it instead of deciding without it.
func (h *holds) advance(closed int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if closed > h.closed {
		h.closed = closed
		h.commitLocked()
	}
}

// find returns the index of hold id in open, or -1 if it is not there (released already).
func (h *holds) find(id uint64) int {
	i, found := slices.BinarySearchFunc(h.open, id, func(x hold, id uint64) int { return cmp.Compare(x.id, id) })
	if !found || h.open[i].done || h.open[i].stuck {
		return -1
	}
	return i
}

// release drops a hold because what it covers is durable, and commits if that moved the commit
// point. After revoke, releases commit nothing and are counted.
func (h *holds) release(id uint64, win *closedSpan) {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := h.find(id)
	if i < 0 {
		return
	}
	if win != nil && (!h.hasCommit || win.end > h.committed.State.ClosedThrough) {
		h.durable = append(h.durable, durableSpan{closedSpan: *win, first: h.open[i].first})
	}
	h.open[i].done = true
	h.dropLocked()
	if h.revoked {
		h.lateAcks.Inc()
		return
	}
	h.commitLocked()
}

// abandon leaves hold id in place for good (step 2): the commit point never passes its prev.
func (h *holds) abandon(id uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := h.find(id)
	if i < 0 {
		return
	}
	h.open[i].stuck = true
	h.stuck++
	h.dropLocked()
}

// dropLocked accounts a hold that stopped being live, trims the released prefix of open and,
// once released holds behind an unreleased one outnumber the others, drops them in one pass
// (amortized O(1) a release): a long-lived hold (a window waiting for its store) costs the holds
// released behind it nothing.
func (h *holds) dropLocked() {
	h.live--
	for len(h.open) > 0 && h.open[0].done {
		h.open = h.open[1:]
	}
	if done := len(h.open) - h.live - h.stuck; done > compactAfter && done > h.live+h.stuck {
		h.open = slices.DeleteFunc(h.open, func(x hold) bool { return x.done })
	}
	if h.live == 0 && h.empty != nil {
		close(h.empty)
		h.empty = nil
	}
}

// commitLocked hands the commit point (step 3) to the Committer if it moved. It runs under the
// lock so that the Committer sees commit points in order; the Committer only records them
// (never blocks), and a source never holds its own lock while calling into the runtime, so the
// lock order is always holds → source.
func (h *holds) commitLocked() {
	if h.revoked {
		return
	}
	var c Checkpoint
	if len(h.open) == 0 {
		if !h.hasLast {
			return
		}
		c.Position, c.State.ClosedThrough = h.last, h.closed
	} else {
		e := &h.open[0] // not released: the prefix of released ones is trimmed
		if !e.hasPrev {
			return // the hold covers the first record read: nothing is durable before it
		}
		c.Position, c.State.ClosedThrough = e.prev, e.closed
	}
	if h.hasCommit {
		switch d := comparePositions(c.Position, h.committed.Position); {
		case d < 0, d == 0 && c.State.ClosedThrough <= h.committed.State.ClosedThrough:
			return
		}
	}
	c.State.Period = time.Duration(h.period)
	for _, d := range h.durable {
		if comparePositions(d.first, c.Position) <= 0 && d.end > c.State.ClosedThrough {
			c.State.Straddlers = append(c.State.Straddlers, Straddler{Start: d.start, Last: d.last})
		}
	}
	if len(c.State.Straddlers) > MaxStraddlers {
		h.heldBack.Inc()
		return
	}
	slices.SortFunc(c.State.Straddlers, func(a, b Straddler) int { return cmp.Compare(a.Start, b.Start) })
	h.committed, h.hasCommit = c, true
	h.durable = slices.DeleteFunc(h.durable, func(d durableSpan) bool { return d.end <= c.State.ClosedThrough })
	h.committer.Commit(h.partition, c)
}

// drained returns a channel closed once no hold is live (immediately if none is): everything
// taken was released or abandoned.
func (h *holds) drained() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := make(chan struct{})
	if h.live == 0 {
		close(ch)
		return ch
	}
	if h.empty == nil {
		h.empty = ch
	}
	return h.empty
}

// revoke stops all further commits for the partition (step 5): the source no longer owns it.
func (h *holds) revoke() {
	h.mu.Lock()
	h.revoked = true
	h.mu.Unlock()
}

// pending returns the number of live holds: what the partition has read and not yet made
// durable.
func (h *holds) pending() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.live
}

// Revoke stops p's runner and waits (until ctx ends) for the partials it closed and the dead
// letters it queued to become durable, so that the commit point it leaves behind is as far as
// it can be (step 5). Its open
// windows are abandoned: whoever reads the partition next writes them whole. When Revoke
// returns, no Commit for p will ever be made again: acknowledgements arriving later are counted
// in weir_late_acks_total and dropped. The source should then store its last commit point
// synchronously and forget p.
func (rt *Runtime) Revoke(ctx context.Context, p Partition) {
	rt.mu.Lock()
	r, ok := rt.runners[p]
	delete(rt.runners, p)
	rt.metrics.partitions.Set(float64(len(rt.runners)))
	rt.mu.Unlock()
	if !ok {
		return
	}
	rt.stop(ctx, r)
	// The runner and its partial writer are done; what can still be live is the partition's
	// dead letters, queued for the shared dead-letter writer. Wait for them too: a commit point
	// left behind a letter that is written a moment later makes the next owner read (and
	// dead-letter) it again, and a Kinesis shard whose tail holds one never finished: every
	// owner reached its end, revoked, found the letter pending and gave the shard back, and
	// the shard's children were never read.
	rt.deadLetters.flushSoon()
	select {
	case <-r.holds.drained():
	case <-ctx.Done():
	}
	if r.holds.pending() > 0 {
		rt.log.Warn("revoke deadline passed before every closed window was durable; the rest will be replayed",
			"partition", p.String(), "pending", r.holds.pending())
	}
	r.holds.revoke()
}

// stop ends one runner (step 5) and returns once it and its partial writer have exited: the
// writer finishes what it has until ctx ends, then abandons the rest.
func (rt *Runtime) stop(ctx context.Context, r *runner) {
	r.stopOnce.Do(func() { close(r.stop) })
	select {
	case <-r.done:
	case <-ctx.Done():
		r.abandonNow()
		<-r.done
	}
	select {
	case <-r.writer.done:
	case <-ctx.Done():
		r.abandonNow()
		<-r.writer.done
	}
}

// abandonOpen abandons the runner's open windows when it stops (step 2): their partials are
// never written by this runner.
func (r *runner) abandonOpen() {
	for _, w := range r.open {
		w.ack.abandon()
	}
	r.open = nil
	if r.carry.ack.h != nil {
		r.carry.ack.abandon()
		r.carry.ack = ack{}
	}
}
