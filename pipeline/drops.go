package pipeline

import "time"

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

// windowCounts is what one window of a partition (and, merged, of the worker) took and lost:
// the runtime's own account, for the drop alarm (dropalarm.go). Operators see the same
// events through DropCounter.
//
// A drop is counted in the partition's oldest window the watermark has not closed when the
// record is read; with none open, in the next window the partition opens (a window is never
// opened just to count dead letters: its hold would keep the commit point still through a
// flood of them). A late record is counted as late whatever the policy, and also as a dead
// letter when it became one.
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

// late applies the late policy to a record whose window the watermark has closed (rule 3). It
// returns the window to fold the record into, or nil if the record was dead-lettered.
func (r *runner) late(rec *Record, remaining int) *openWindow {
	r.lateCounter.Inc()
	if r.rt.cfg.Late == LateOldestOpen {
		w := r.oldestOpen()
		if w == nil {
			// None open: the window that holds the watermark (a late record has one).
			period := int64(r.rt.cfg.Period)
			w = r.window(r.et.watermark-mod(r.et.watermark, period), rec.Position)
		}
		r.count(w, reasonLate, false, dropExample{partition: r.p, position: rec.Position, detail: "placed in the oldest open window"})
		return w
	}
	if r.lateDetailWM != r.et.watermark || r.lateDetail == "" {
		r.lateDetailWM = r.et.watermark
		r.lateDetail = "the record's window closed before it arrived (watermark " +
			time.Unix(0, r.et.watermark).UTC().Format(time.RFC3339Nano) + ")"
	}
	r.deadLetter(rec, reasonLate, r.lateDetail, remaining)
	return nil
}

// oldestOpen returns the oldest window the watermark has not closed (windows it closed stay
// open until the end of the batch, but take nothing more), or nil.
func (r *runner) oldestOpen() *openWindow {
	for _, w := range r.open {
		if w.end > r.et.watermark {
			return w
		}
	}
	return nil
}

// count counts one dropped record in w, or, with no window open, in the carry that the
// partition's next window takes over.
func (r *runner) count(w *openWindow, reason dropReason, deadLettered bool, ex dropExample) {
	if w == nil {
		if r.carry.empty() {
			r.carrySince = r.rt.now().UnixNano()
		}
		r.carry.drop(reason, deadLettered, ex)
		return
	}
	w.counts.drop(reason, deadLettered, ex)
	for _, d := range w.drops {
		d.CountDrops(reason.String(), deadLettered, 1)
	}
}

// place moves carried counts into w, the next window the partition opened.
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

// deadLetter counts a record as dropped and adds it to the batch's letter group, copying its
// key and value (their memory belongs to the batch). The group's hold, taken at its first
// letter, keeps the commit point below it until the group is durable. remaining is how many
// records of the batch are left, this one included: the group's room.
func (r *runner) deadLetter(rec *Record, reason dropReason, detail string, remaining int) {
	r.rt.deadCounters[reason].Inc()
	r.rt.stats.deadLetters.Add(1)
	r.count(r.oldestOpen(), reason, true, dropExample{partition: r.p, position: rec.Position, detail: detail})
	g := r.letters
	if g == nil {
		g = &letterGroup{holds: r.holds, letters: make([]DeadLetter, 0, min(remaining, 8))}
		g.hold = r.holds.take(rec.Position, r.prev, r.hasPrev)
		r.letters = g
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
	if g.full() {
		r.sealLetters()
	}
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
		r.holds.abandon(g.hold)
	}
	return ok
}
