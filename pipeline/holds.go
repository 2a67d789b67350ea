package pipeline

import (
	"cmp"
	"slices"
	"sync"
)

// holds tracks, for one partition, which processed records are not yet durable, and turns
// releases into commit points. A hold is taken for every window the partition opens and for
// every group of dead letters (a batch's, see letterGroup); it remembers the position of the first record it covers and of the record
// processed just before that one. Everything at or before the earliest hold's "previous"
// position is durable, so that is the commit point; with no holds, everything processed is.
//
// This is the "windows hold acks, not records" contract: the cost is a few words per open
// window, independent of how many records the window saw.
//
// holds is shared between the partition's runner (take, processed) and the goroutines that
// release holds when sinks finish. Those calls are per window, or per group of dead letters:
// a flood of bad records holds many at once, so take, release and the commit point are
// O(log n) or amortized O(1), not scans, and released holds do not pile up behind a live one. The runner takes holds in processing order, so open is sorted by
// id and by first position alike: the earliest hold is the first one not yet released.
type holds struct {
	partition Partition
	committer Committer
	lateAck   func() // counts a release that arrived after the partition was revoked

	mu     sync.Mutex
	nextID uint64
	// open holds the holds in take order from the earliest one still held: released ones
	// further on stay (done) until everything before them is released too, or until they
	// outnumber the live ones (see dropLocked).
	open      []hold
	live      int      // holds in open not yet released
	last      Position // last processed record
	hasLast   bool
	committed Position
	hasCommit bool
	revoked   bool
	// capped is set when a hold was abandoned (its output will never be written): the commit
	// point may then never pass capAt (or anything at all, when !capHas).
	capped bool
	capAt  Position
	capHas bool
	empty  chan struct{} // closed when open becomes empty while someone waits (see drained)
}

type hold struct {
	id      uint64
	first   Position
	prev    Position
	hasPrev bool
	done    bool // released or abandoned
}

// compactAfter is how many released holds may wait behind a live one before they are dropped.
const compactAfter = 64

func newHolds(p Partition, c Committer, lateAck func()) *holds {
	return &holds{partition: p, committer: c, lateAck: lateAck}
}

// take opens a hold whose first record is at first; prev is the record processed just before
// it in this partition (hasPrev false for the first record since the partition was assigned).
// The runner calls it before folding that record in, so the hold is in place before anything
// can commit past it. Everything at or before prev is either durable or covered by an earlier
// hold, which is why prev is a safe commit point once this hold is the earliest.
func (h *holds) take(first, prev Position, hasPrev bool) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.nextID++
	h.open = append(h.open, hold{id: h.nextID, first: first, prev: prev, hasPrev: hasPrev})
	h.live++
	return h.nextID
}

// dropLocked marks hold id done and trims the released prefix of open. It returns the hold,
// and false if id is not open (released already).
func (h *holds) dropLocked(id uint64) (hold, bool) {
	i, found := slices.BinarySearchFunc(h.open, id, func(x hold, id uint64) int { return cmp.Compare(x.id, id) })
	if !found || h.open[i].done {
		return hold{}, false
	}
	hd := h.open[i]
	h.open[i].done = true
	h.live--
	for len(h.open) > 0 && h.open[0].done {
		h.open = h.open[1:]
	}
	// Released holds behind a live one stay until it goes; once they outnumber the live ones,
	// drop them in one pass (amortized O(1) a release), so a long-lived hold (a window waiting
	// for its sinks) costs the holds released behind it nothing.
	if done := len(h.open) - h.live; done > compactAfter && done > h.live {
		h.open = slices.DeleteFunc(h.open, func(x hold) bool { return x.done })
	}
	if h.live == 0 && h.empty != nil {
		close(h.empty)
		h.empty = nil
	}
	return hd, true
}

// processed records that every record up to and including pos has been folded into a window
// (or dead-lettered). It may advance the commit point when nothing is held.
func (h *holds) processed(pos Position) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.last, h.hasLast = pos, true
	h.commitLocked()
}

// release drops a hold because its output is durable, and commits if that moved the commit
// point. After revoke, releases commit nothing and are counted.
func (h *holds) release(id uint64) {
	h.mu.Lock()
	h.dropLocked(id)
	if h.revoked {
		h.mu.Unlock()
		h.lateAck()
		return
	}
	h.commitLocked()
	h.mu.Unlock()
}

// commitLocked hands the commit point to the Committer if it moved forward. It runs under the
// lock so that the Committer sees strictly increasing positions; the Committer only marks
// (never blocks), and a source must not hold its own lock while calling into the runtime, so
// the lock order is always holds → source.
func (h *holds) commitLocked() {
	var c Position
	var ok bool
	if h.live == 0 {
		c, ok = h.last, h.hasLast
	} else {
		c, ok = h.open[0].prev, h.open[0].hasPrev // open[0] is held: dropLocked trims done ones
	}
	if h.capped {
		if !h.capHas {
			return
		}
		if h.capAt.Before(c) {
			c = h.capAt
		}
	}
	if !ok || h.revoked || (h.hasCommit && !h.committed.Before(c)) {
		return
	}
	h.committed, h.hasCommit = c, true
	h.committer.Commit(h.partition, c)
}

// abandon drops a hold whose output will never be written (shutdown deadline passed), and caps
// the commit point below its first record for good, so the records are read again.
func (h *holds) abandon(id uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	hd, ok := h.dropLocked(id)
	if !ok {
		return
	}
	switch {
	case !hd.hasPrev:
		h.capped, h.capHas = true, false // nothing may ever be committed
	case !h.capped:
		h.capped, h.capAt, h.capHas = true, hd.prev, true
	case h.capHas && hd.prev.Before(h.capAt):
		h.capAt = hd.prev
	}
}

// drained returns a channel closed once no hold is open (immediately if none is).
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

// revoke stops all further commits for the partition: the source no longer owns it.
func (h *holds) revoke() {
	h.mu.Lock()
	h.revoked = true
	h.mu.Unlock()
}

// pending returns the number of open holds (for tests and metrics).
func (h *holds) pending() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.live
}
