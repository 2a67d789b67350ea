package pipeline

import (
	"sync/atomic"
	"time"

	"github.com/weirstream/weir/pipeline/decode"
)

// runner owns one partition: it is the only goroutine that touches the partition's window
// state, so the per-record path needs no locks. Batches arrive in order on in; closed windows
// leave as partials for the merger.
type runner struct {
	rt   *Runtime
	p    Partition
	ops  []Operator // indexed like Runtime.ops; nil where the operator does not read this stream
	in   chan Batch
	stop chan struct{} // closed to stop: revoke or shutdown
	// abandon is closed when the stop deadline passed: final hand-overs give up waiting.
	abandon chan struct{}
	// interrupt ends blocking waits: stop while running, abandon once finish has begun (finish
	// itself runs after stop and must still be able to wait for room).
	interrupt <-chan struct{}
	done      chan struct{} // closed when the goroutine has handed everything over
	holds     *holds
	// credits bounds the windows this partition has closed that are not yet durable: one is
	// taken per handed-over window and returned by the emitter when the window is durable.
	credits chan struct{}
	clock   *StageClock
	// blocked is set while the runner waits to hand a window over (no credit left: the sinks
	// are behind; or the merger's queue is full). Feed uses it to stop queueing batches the
	// runner cannot start on: see Feed.TrySend.
	blocked atomic.Bool
	// blockedSig receives (without blocking the runner) each time blocked is set, so a source
	// waiting for queue room (Feed.SendWhileBusy) stops waiting at once.
	blockedSig chan struct{}

	dec     *decode.Decoder
	vals    []decode.Value
	timeIdx int // index of the event-time field in vals, -1 for broker/arrival time

	open      []*openWindow // ordered by start
	watermark int64         // Unix ns; windows ending at or before it are closed
	maxEvent  int64
	closedAt  int64 // the last window end reported to the merger
	lastInput time.Time
	// behind: the last batch said more records were waiting (Batch.More). A partition starts
	// behind, because nothing is known about it yet; the source's first batch (possibly an
	// empty one saying "caught up") settles it.
	behind bool

	// prev is the position of the last record processed (folded or dead-lettered), the commit
	// point a hold opened at the next record falls back to.
	prev    Position
	hasPrev bool
}

// openWindow is one partition's state for one window. It holds the position of the first
// record (through its hold), never the records.
type openWindow struct {
	win    Window
	key    windowKey
	end    int64
	states []State // indexed like Runtime.ops, nil for operators that do not read this stream
	live   []State // the non-nil states, for the per-record loop
	hold   uint64
	first  Position
}

const minTime = -1 << 63

// Event times outside [1970, 2200) are refused (dead-lettered): they are corrupt, not late, and
// keeping all times far from the int64 nanosecond limits keeps window arithmetic from wrapping.
const (
	minEventTime = 0
	maxEventTime = 7258118400 * int64(time.Second) // 2200-01-01T00:00:00Z
)

func (r *runner) run() {
	defer close(r.done)
	tick := time.NewTicker(r.rt.tickEvery)
	defer tick.Stop()
	for {
		r.clock.Enter(Idle)
		select {
		case b := <-r.in:
			r.clock.Enter(Busy)
			if !r.process(b) {
				r.finish()
				return
			}
		case now := <-tick.C:
			r.clock.Enter(Busy)
			if !r.onTick(now) {
				r.finish()
				return
			}
		case <-r.stop:
			r.finish()
			return
		}
	}
}

// process folds a batch into window state. It returns false if the runner was stopped while
// blocked handing a window over.
func (r *runner) process(b Batch) bool {
	defer func() {
		if b.Done != nil {
			b.Done()
		}
	}()
	r.setBehind(b.More)
	if len(b.Records) == 0 {
		return true // a source saying the partition is caught up (or not) without records
	}
	r.lastInput = time.Now()
	r.rt.lastInput.Store(r.lastInput.UnixNano())
	period := int64(r.rt.cfg.Period)
	var batchNow int64
	if r.rt.cfg.Time == ProcessingTime {
		batchNow = r.lastInput.UnixNano()
	}
	var bytes int64
	var cur *openWindow
	for i := range b.Records {
		rec := &b.Records[i]
		bytes += rec.Size()
		if r.dec != nil {
			if err := r.dec.Decode(rec.Value, r.vals); err != nil {
				r.deadLetter(rec, "decode", err.Error())
				continue
			}
		}
		t := batchNow
		if r.rt.cfg.Time == EventTime {
			if r.timeIdx >= 0 {
				et, err := r.vals[r.timeIdx].Time()
				if err != nil {
					r.deadLetter(rec, "event_time", err.Error())
					continue
				}
				t = et.UnixNano()
			} else {
				t = rec.Time.UnixNano()
			}
			if t < minEventTime || t > maxEventTime {
				r.deadLetter(rec, "event_time", "event time "+time.Unix(0, t).UTC().Format(time.RFC3339)+
					" is outside 1970–2200")
				continue
			}
		}
		start := t - mod(t, period)
		if cur == nil || cur.key != windowKey(start) {
			if start+period <= r.watermark {
				if cur = r.late(rec); cur == nil {
					continue
				}
			} else {
				cur = r.window(start, rec.Position)
			}
		}
		for _, st := range cur.live {
			st.Observe(rec, r.vals)
		}
		if t > r.maxEvent {
			r.maxEvent = t
		}
		r.prev, r.hasPrev = rec.Position, true
	}
	last := b.Records[len(b.Records)-1].Position
	r.rt.metrics.records.WithLabelValues(r.p.Stream).Add(float64(len(b.Records)))
	r.rt.metrics.bytes.WithLabelValues(r.p.Stream).Add(float64(bytes))
	r.rt.stats.records.Add(int64(len(b.Records)))
	r.rt.stats.bytes.Add(bytes)
	if r.rt.cfg.Time == EventTime && r.maxEvent != minTime {
		// (maxEvent is still minTime when every record so far was dead-lettered; subtracting
		// from it would wrap around to the far future and close every window.)
		r.advance(r.maxEvent - int64(r.rt.cfg.AllowedLateness))
	}
	ok := r.closeUpTo(false)
	// Everything in the batch is now in a window (held) or dead-lettered (held): the commit
	// point may move up to the batch's last record once those holds are released.
	r.holds.processed(last)
	return ok
}

func mod(t, period int64) int64 {
	m := t % period
	if m < 0 {
		m += period
	}
	return m
}

// window returns the open window starting at start, opening it (and taking its hold at first)
// if needed. Few windows are open at once, so a linear scan beats a map.
func (r *runner) window(start int64, first Position) *openWindow {
	for i, w := range r.open {
		if int64(w.key) == start {
			return w
		}
		if int64(w.key) > start {
			nw := r.newWindow(start, first)
			r.open = append(r.open, nil)
			copy(r.open[i+1:], r.open[i:])
			r.open[i] = nw
			return nw
		}
	}
	nw := r.newWindow(start, first)
	r.open = append(r.open, nw)
	return nw
}

func (r *runner) newWindow(start int64, first Position) *openWindow {
	period := r.rt.cfg.Period
	w := &openWindow{
		win:    Window{Start: time.Unix(0, start).UTC(), End: time.Unix(0, start).UTC().Add(period)},
		key:    windowKey(start),
		end:    start + int64(period),
		states: make([]State, len(r.ops)),
		first:  first,
	}
	for i, op := range r.ops {
		if op != nil {
			w.states[i] = op.NewState(r.p)
			w.live = append(w.live, w.states[i])
		}
	}
	w.hold = r.holds.take(first, r.prev, r.hasPrev)
	return w
}

// late applies the late policy to a record whose window has closed. It returns the window to
// fold the record into, or nil if the record was dead-lettered.
func (r *runner) late(rec *Record) *openWindow {
	policy := r.rt.cfg.Late
	r.rt.metrics.late.WithLabelValues(r.p.Stream, string(policy)).Inc()
	if policy == LateOldestOpen {
		if len(r.open) > 0 {
			return r.open[0]
		}
		period := int64(r.rt.cfg.Period)
		return r.window(r.watermark-mod(r.watermark, period), rec.Position)
	}
	r.deadLetter(rec, "late", "the record's window closed before it arrived (watermark "+
		time.Unix(0, r.watermark).UTC().Format(time.RFC3339Nano)+")")
	return nil
}

// advance moves the watermark forward (never back) and publishes it.
func (r *runner) advance(wm int64) {
	if wm <= r.watermark {
		return
	}
	r.watermark = wm
	r.rt.raiseWatermark(wm)
}

// setBehind records whether the partition has records waiting, keeping the worker-wide count
// of such partitions that gates the wall-clock fallback.
func (r *runner) setBehind(b bool) {
	if b == r.behind {
		return
	}
	r.behind = b
	if b {
		r.rt.behind.Add(1)
	} else {
		r.rt.behind.Add(-1)
	}
}

// onTick lets time pass without records: processing-time windows close on the wall clock, and
// an idle partition's watermark follows the rest of the worker so it does not hold windows back.
func (r *runner) onTick(now time.Time) bool {
	cfg := r.rt.cfg
	switch {
	case cfg.Time == ProcessingTime:
		r.advance(now.UnixNano())
	case !r.behind && now.Sub(r.lastInput) >= cfg.IdleTimeout:
		// Caught up and quiet: follow the fastest partition, so this one does not hold every
		// window back. A partition starved by backpressure is behind, never idle.
		wm := r.rt.maxWatermark.Load()
		if idle := now.UnixNano() - r.rt.lastInput.Load(); r.rt.behind.Load() == 0 &&
			idle >= int64(cfg.IdleTimeout) && wm != minTime {
			// The whole worker is caught up and quiet: event time is taken to move on with the
			// wall clock, from the newest event seen, so the last windows close. Not the wall
			// clock itself: replaying old data, that would make everything after a pause late.
			wm += idle
		}
		r.advance(wm)
	}
	return r.closeUpTo(false)
}

// closeUpTo hands every window that ends at or before the watermark to the merger (all open
// windows when final), then reports progress. It returns false if the runner was stopped while
// waiting for a credit or for room in the merger's queue; the windows not yet handed over stay
// open for finish.
func (r *runner) closeUpTo(final bool) bool {
	for len(r.open) > 0 {
		w := r.open[0]
		if !final && w.end > r.watermark {
			break
		}
		if !r.handOver(w, final) {
			if !final {
				return false
			}
			// The shutdown deadline passed before the merger took the window: its records will
			// be read again by whoever owns the partition next, so the commit point must stay
			// below them for good.
			r.holds.abandon(w.hold)
		}
		copy(r.open, r.open[1:])
		r.open[len(r.open)-1] = nil
		r.open = r.open[:len(r.open)-1]
		// Report progress window by window, not only at the end: the next hand-over may wait
		// for a credit that only comes back once the merger emits this window, which it does
		// only when it knows this partition is past it.
		if !final && w.end > r.closedAt {
			r.closedAt = w.end
			if !r.send(mergeMsg{kind: msgProgress, p: r.p, closed: w.end}, false) {
				return false
			}
		}
	}
	if final || r.watermark == minTime {
		return true // (nothing is closed before the first watermark; the arithmetic would wrap)
	}
	period := int64(r.rt.cfg.Period)
	closed := r.watermark - mod(r.watermark, period)
	if closed > r.closedAt {
		r.closedAt = closed
		return r.send(mergeMsg{kind: msgProgress, p: r.p, closed: closed}, false)
	}
	return true
}

// handOver sends a window's partial to the merger. Unless final, it first takes a credit, so a
// partition that runs ahead of its sinks stops after MaxPendingWindows windows.
func (r *runner) handOver(w *openWindow, final bool) bool {
	credit := false
	if !final {
		select {
		case <-r.credits:
			credit = true
		default:
			r.clock.Enter(Backpressured)
			r.setBlocked()
			select {
			case <-r.credits:
				credit = true
			case <-r.interrupt:
			}
			r.blocked.Store(false)
			r.clock.Enter(Busy)
			if !credit {
				return false
			}
		}
	}
	m := mergeMsg{kind: msgPartial, p: r.p, win: w.win, states: w.states, hold: w.hold,
		holds: r.holds, first: w.first, final: final}
	if credit {
		m.credits = r.credits
	}
	if r.send(m, final) {
		return true
	}
	if credit {
		r.credits <- struct{}{} // cannot block: we just took it
	}
	return false
}

// setBlocked marks the runner blocked handing a window over and wakes a source waiting for room.
func (r *runner) setBlocked() {
	r.blocked.Store(true)
	select {
	case r.blockedSig <- struct{}{}:
	default:
	}
}

// send hands a message to the merger, blocking while its queue is full (backpressure).
// Final hand-overs ignore stop (they are the stop) and give up only when the stop deadline
// passes.
func (r *runner) send(m mergeMsg, final bool) bool {
	select {
	case r.rt.merge <- m:
		return true
	default:
	}
	r.clock.Enter(Backpressured)
	r.setBlocked()
	defer func() {
		r.blocked.Store(false)
		r.clock.Enter(Busy)
	}()
	interrupt := r.interrupt
	if final {
		interrupt = r.abandon
	}
	select {
	case r.rt.merge <- m:
		return true
	case <-interrupt:
		return false
	}
}

// finish runs when the runner stops. On shutdown, batches still queued are processed first
// (they are already in memory, and each is little work); on revoke they are released
// unprocessed, because the next owner reads them again anyway and the rebalance is waiting.
// Then every open window is handed over as final, so what was processed can be made durable and
// committed.
func (r *runner) finish() {
	r.interrupt = r.abandon
	drain := r.rt.draining.Load()
	for {
		select {
		case b := <-r.in:
			if drain {
				r.process(b)
			} else if b.Done != nil {
				b.Done()
			}
			continue
		default:
		}
		break
	}
	r.closeUpTo(true)
	r.setBehind(false)
	r.rt.metrics.RetireStageClock("runner", r.clock)
}

// deadLetter copies the record out (its memory belongs to the batch) and queues it for the
// dead-letter sink under a hold, so the commit point cannot pass it before it is durable.
func (r *runner) deadLetter(rec *Record, reason, detail string) {
	r.rt.metrics.deadLetters.WithLabelValues(reason).Inc()
	r.rt.stats.deadLetters.Add(1)
	dl := DeadLetter{
		Partition: r.p,
		Position:  rec.Position,
		Time:      rec.Time,
		Reason:    reason,
		Detail:    detail,
		Key:       append([]byte(nil), rec.Key...),
		Value:     append([]byte(nil), rec.Value...),
	}
	id := r.holds.take(rec.Position, r.prev, r.hasPrev)
	r.prev, r.hasPrev = rec.Position, true
	r.clock.Enter(Backpressured)
	if !r.rt.deadLetters.enqueue(dl, r.holds, id, r.interrupt) {
		// Stopped while the dead-letter queue was full: the letter is not written, so nothing
		// may be committed past it; the next owner reads the record again.
		r.holds.abandon(id)
	}
	r.clock.Enter(Busy)
}
