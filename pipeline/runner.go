package pipeline

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/pipeline/decode"
)

// runner owns one partition: it is the only goroutine that touches the partition's window
// state, so the per-record path needs no locks. Batches arrive in order on in; closed windows
// leave as partials for the merger. Its event time follows the rules in eventtime.go.
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

	open     []*openWindow // ordered by start
	et       eventClock
	closedAt int64 // the last window end reported to the merger
	// onTimeAt is the wall time (Unix ns) of the last batch that folded a record into its own
	// window: idleness counts from it (rule 4).
	onTimeAt int64
	// behind: the last batch said more records were waiting (Batch.More). A partition starts
	// behind, because nothing is known about it yet; the source's first batch (possibly an
	// empty one saying "caught up") settles it.
	behind bool
	// quiet: caught up, and no on-time record for the idle timeout (rule 4); set on ticks.
	quiet bool
	// idle is what the merger was last told: quiet with no open window.
	idle bool

	// letters is the current batch's dead letters (nil when there are none yet).
	letters *letterGroup
	// carry counts drops while no window was open to count them in; the next window opened
	// takes them over. carrySince is when the first of them came.
	carry      windowCounts
	carrySince int64
	// lateDetail is the dead-letter detail of late records, made once per watermark.
	lateDetail   string
	lateDetailWM int64
	lateCounter  prometheus.Counter

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
	drops  []DropCounter
	hold   uint64
	first  Position
	counts windowCounts
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
		r.clock.Enter(StageIdle)
		select {
		case b := <-r.in:
			r.clock.Enter(StageBusy)
			if !r.process(b) {
				r.finish()
				return
			}
		case <-tick.C:
			r.clock.Enter(StageBusy)
			if !r.onTick(r.rt.now()) {
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
	now := r.rt.now().UnixNano()
	if r.idle {
		// Rejoin the merger's minimum before anything else, so windows this batch has records
		// for are not emitted without them (rule 6).
		r.quiet = false
		if !r.report() {
			return false
		}
	}
	period := int64(r.rt.cfg.Period)
	eventTime := r.rt.cfg.Time == EventTime
	var bytes int64
	var cur *openWindow
	onTime := false
	for i := range b.Records {
		rec := &b.Records[i]
		bytes += rec.Size()
		if r.dec != nil {
			if err := r.dec.Decode(rec.Value, r.vals); err != nil {
				r.deadLetter(rec, reasonDecode, err.Error(), len(b.Records)-i)
				continue
			}
		}
		t := now
		if eventTime {
			if r.timeIdx >= 0 {
				et, err := r.vals[r.timeIdx].Time()
				if err != nil {
					r.deadLetter(rec, reasonEventTime, err.Error(), len(b.Records)-i)
					continue
				}
				t = et.UnixNano()
			} else {
				t = rec.Time.UnixNano()
			}
			if t < minEventTime || t > maxEventTime {
				r.deadLetter(rec, reasonEventTime, "event time "+time.Unix(0, t).UTC().Format(time.RFC3339)+
					" is outside 1970–2200", len(b.Records)-i)
				continue
			}
		}
		start := t - mod(t, period)
		// Within a run of records of one window the watermark stays below its end (each is
		// before the end), so lateness needs checking only where the window changes.
		if cur == nil || cur.key != windowKey(start) {
			if start+period <= r.et.watermark {
				if cur = r.late(rec, len(b.Records)-i); cur == nil {
					continue
				}
			} else {
				cur = r.window(start, rec.Position)
			}
		}
		for _, st := range cur.live {
			st.Observe(rec, r.vals)
		}
		cur.counts.records++
		if cur.key == windowKey(start) {
			onTime = true
			if eventTime {
				r.et.observe(t, now)
			}
		}
		r.prev, r.hasPrev = rec.Position, true
	}
	last := b.Records[len(b.Records)-1].Position
	r.rt.metrics.records.WithLabelValues(r.p.Stream).Add(float64(len(b.Records)))
	r.rt.metrics.bytes.WithLabelValues(r.p.Stream).Add(float64(bytes))
	r.rt.stats.records.Add(int64(len(b.Records)))
	r.rt.stats.bytes.Add(bytes)
	if onTime {
		r.onTimeAt, r.quiet = now, false
	}
	ok := r.sealLetters() && r.closeUpTo(false)
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
			if d, ok := w.states[i].(DropCounter); ok {
				w.drops = append(w.drops, d)
			}
		}
	}
	w.hold = r.holds.take(first, r.prev, r.hasPrev)
	if !r.carry.empty() {
		r.place(w, &r.carry)
		r.carry = windowCounts{}
	}
	return w
}

// onTick lets time pass without records: processing-time windows close on the wall clock, and
// a quiet partition's watermark follows it from its newest event (rule 5).
func (r *runner) onTick(now time.Time) bool {
	ns := now.UnixNano()
	cfg := r.rt.cfg
	if cfg.Time == ProcessingTime {
		r.et.follow(ns)
	} else {
		r.quiet = !r.behind && ns-r.onTimeAt >= int64(cfg.IdleTimeout)
		if r.quiet {
			r.et.passWallTime(ns)
		}
	}
	if !r.carry.empty() && ns-r.carrySince >= int64(cfg.IdleTimeout) {
		r.rt.alarm.unplaced(r.p, &r.carry)
	}
	return r.closeUpTo(false)
}

// setBehind records whether the partition has records waiting: a partition that is behind is
// never quiet (rule 4).
func (r *runner) setBehind(b bool) {
	r.behind = b
	if b {
		r.quiet = false
	}
}
