package pipeline

import (
	"slices"
	"time"
)

// dropReason is why a record did not count where its time says: the reasons of dead letters
// (DeadLetter.Reason, the reason label of weir_dead_letters_total) and lateness.
type dropReason uint8

const (
	reasonDecode    dropReason = iota // the payload does not decode
	reasonEventTime                   // no usable event time (missing, unreadable, outside 1970–2200)
	reasonLate                        // the record's window had closed (rule 3 of eventtime.go)
	numDropReasons
)

var dropReasonNames = [numDropReasons]string{"decode", "event_time", "late"}

func (r dropReason) String() string { return dropReasonNames[r] }

// windowCounts is what one window of a partition took and lost: the runtime's own account,
// for the partial (Partial.Records, Dropped) and the drop alarm (dropalarm.go). Operators see
// the same events through DropCounter.
//
// A drop is counted in the partition's oldest window the watermark has not closed when the
// record is read; with none open, in the window that holds the watermark, opened for it; before
// the partition has a watermark, in its next partial (carried). Each is decided by the
// partition's own records alone, so a replay counts every drop in the same partial. A late
// record is counted as late whatever the policy, and also as a dead letter when it became one.
type windowCounts struct {
	records int64 // folded into the window, late ones placed by oldest-open included
	late    int64
	dead    [numDropReasons]int64 // dead-lettered, by reason
	example [numDropReasons]dropExample
}

// dropExample is the first record of a window dropped for a reason, for the alarm's log line.
type dropExample struct {
	partition Partition
	position  Position
	detail    string
}

// drop counts one dropped record.
func (c *windowCounts) drop(reason dropReason, deadLettered bool, ex dropExample) {
	if c.count(reason) == 0 {
		c.example[reason] = ex
	}
	if reason == reasonLate {
		c.late++
	}
	if deadLettered {
		c.dead[reason]++
	}
}

// add folds o into c, keeping c's examples where it has them.
func (c *windowCounts) add(o *windowCounts) {
	c.records += o.records
	c.late += o.late
	for r := range numDropReasons {
		if c.example[r].detail == "" {
			c.example[r] = o.example[r]
		}
		c.dead[r] += o.dead[r]
	}
}

// count returns the window's records dropped for reason: dead letters, and for late also
// those placed by oldest-open.
func (c *windowCounts) count(reason dropReason) int64 {
	if reason == reasonLate {
		return c.late
	}
	return c.dead[reason]
}

// seen is every record the window accounts for: folded or dead-lettered.
func (c *windowCounts) seen() int64 {
	n := c.records
	for _, d := range c.dead {
		n += d
	}
	return n
}

func (c *windowCounts) empty() bool { return c.seen() == 0 && c.late == 0 }

// dropped is the dead-letter counts by reason, as a partial records them (nil for none).
func (c *windowCounts) dropped() DropCounts {
	var d DropCounts
	for r, n := range c.dead {
		if n > 0 {
			if d == nil {
				d = DropCounts{}
			}
			d[dropReason(r).String()] = n
		}
	}
	return d
}

// late applies the late policy to a record whose window the watermark has closed (rule 3). It
// returns the window to fold the record into, or nil if the record was dead-lettered.
func (r *runner) late(rec *Record, remaining int) *openWindow {
	r.lateCounter.Inc()
	if r.rt.cfg.Late == LateOldestOpen {
		w := r.countWindow(rec.Position)
		if w == nil {
			// None open: the window that holds the watermark (a late record has one).
			w = r.window(r.watermarkWindow(), rec.Position)
		}
		if !w.straddler {
			r.count(w, reasonLate, false, dropExample{partition: r.p, position: rec.Position, detail: "placed in the oldest open window"})
		}
		return w
	}
	if r.lateDetailW != r.et.watermark || r.lateDetail == "" {
		r.lateDetailW = r.et.watermark
		r.lateDetail = "the record's window closed before it arrived (watermark " +
			time.Unix(0, r.et.watermark).UTC().Format(time.RFC3339Nano) + ")"
	}
	r.deadLetter(rec, reasonLate, r.lateDetail, remaining)
	return nil
}

// countWindow returns the window a drop at pos counts in: the oldest window the watermark has
// not closed (windows it closed stay open until the end of the batch, but take nothing more).
// A straddler of a replay counts in it only up to where the first run counted (replay.go). It
// returns nil when there is none.
func (r *runner) countWindow(pos Position) *openWindow {
	for _, w := range r.open {
		if w.end > r.et.watermark && (!w.straddler || comparePositions(pos, w.last) <= 0) {
			return w
		}
	}
	return nil
}

// count counts one dropped record, at pos, in w.
func (r *runner) count(w *openWindow, reason dropReason, deadLettered bool, ex dropExample) {
	w.counts.drop(reason, deadLettered, ex)
	for _, d := range w.drops {
		d.CountDrops(reason.String(), deadLettered, 1)
	}
	w.last = ex.position
}

// countDrop counts a dropped record in the window drops count in: the oldest open one; with
// none open, the window holding the watermark, opened for it (its hold, taken at this record,
// keeps the record's count and the record itself in one replay); before the partition has a
// watermark, the carry the next partial takes over. A straddler of a replay takes it only to
// swallow it: the first run counted it there already.
func (r *runner) countDrop(reason dropReason, deadLettered bool, ex dropExample) {
	w := r.countWindow(ex.position)
	if w == nil && r.et.watermark != minTime {
		if w = r.window(r.watermarkWindow(), ex.position); w.straddler && comparePositions(ex.position, w.last) > 0 {
			w = nil
		}
	}
	switch {
	case w == nil:
		r.carryDrop(reason, deadLettered, ex)
	case !w.straddler:
		r.count(w, reason, deadLettered, ex)
	}
}

// place moves carried counts into w, the next partial of the partition.
func (r *runner) place(w *openWindow, c *windowCounts) {
	w.counts.add(c)
	for reason := range numDropReasons {
		if n := c.dead[reason]; n > 0 {
			for _, d := range w.drops {
				d.CountDrops(reason.String(), true, n)
			}
		}
	}
}

// carried is what a partition dropped before it had a watermark, with no window to count it
// in: the next partial (a window opened by a record, or an empty one closed by the wall clock)
// takes the counts and the hold, taken at the first of them.
type carried struct {
	counts windowCounts
	ack    ack
	since  int64 // when the first of them came (wall clock)
}

func (r *runner) carryDrop(reason dropReason, deadLettered bool, ex dropExample) {
	if r.carry.ack.h == nil {
		r.carry.since = r.rt.now().UnixNano()
		r.carry.ack = r.holds.take(ex.position, r.prev, r.hasPrev, r.closedThrough())
	}
	r.carry.counts.drop(reason, deadLettered, ex)
}

// takeCarry hands the carry over to the partial being made, or returns nil if there is none.
func (r *runner) takeCarry() *carried {
	if r.carry.ack.h == nil {
		return nil
	}
	c := r.carry
	r.carry = carried{}
	return &c
}

// deadLetter counts a record as dropped and adds it to the batch's letter group, copying its
// key and value (their memory belongs to the batch). The group's hold, taken at its first
// letter, keeps the commit point below it until the group is durable. remaining is how many
// records of the batch are left, this one included: the group's room. It returns false if
// the runner was stopped while waiting to queue a full group: nothing after it can be
// committed, so the rest of the batch is not read.
func (r *runner) deadLetter(rec *Record, reason dropReason, detail string, remaining int) bool {
	r.rt.deadCounters[reason].Inc()
	r.rt.stats.deadLetters.Add(1)
	r.countDrop(reason, true, dropExample{partition: r.p, position: rec.Position, detail: detail})
	g := r.letters
	if g == nil {
		g = &letterGroup{letters: make([]DeadLetter, 0, min(remaining, 8))}
		g.ack = r.holds.take(rec.Position, r.prev, r.hasPrev, r.closedThrough())
		r.letters = g
	}
	if len(g.letters) == cap(g.letters) && len(g.letters) >= 8 {
		// More than a handful in one batch: a flood. Grow once to what the rest of the batch
		// can add (at most a group's worth) instead of doubling through every size, each
		// doubling a copy of the letters so far.
		g.letters = slices.Grow(g.letters, max(len(g.letters), min(remaining, maxGroupLetters-len(g.letters))))
	}
	g.letters = append(g.letters, DeadLetter{
		Partition: r.p,
		Position:  rec.Position,
		Time:      rec.Time,
		Reason:    dropReasonNames[reason],
		Detail:    detail,
		Key:       g.copyIn(rec.Key),
		Value:     g.copyIn(rec.Value),
	})
	g.bytes += int64(len(rec.Key) + len(rec.Value) + len(detail))
	r.prev, r.hasPrev = rec.Position, true
	return !g.full() || r.sealLetters()
}

// sealLetters queues the current letter group for the dead-letter writer. It returns false if
// the runner was stopped while the queue was full: then the letters are not written, and
// nothing may be committed past them (the next owner reads the records again).
func (r *runner) sealLetters() bool {
	g := r.letters
	if g == nil {
		return true
	}
	r.letters = nil
	r.clock.Enter(StageBackpressured)
	ok := r.rt.deadLetters.enqueue(g, r.interrupt)
	r.clock.Enter(StageBusy)
	if !ok {
		g.ack.abandon()
	}
	return ok
}
