package pipeline

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/pipeline/decode"
)

// runner owns one partition: it is the only goroutine that touches the partition's window
// state, so the per-record path needs no locks. Batches arrive in order on in; closed windows
// leave as partials for the partition's writer (partials.go). Its event time follows the rules
// in eventtime.go; how what it reads becomes a commit point is in commit.go.
type runner struct {
	rt   *Runtime
	p    Partition
	ops  []Operator // indexed like Runtime.ops; nil where the operator does not read this stream
	in   chan Batch
	stop chan struct{} // closed to stop: revoke or shutdown
	// abandon is closed when the stop deadline passed: every wait gives up.
	abandon chan struct{}
	// interrupt ends blocking waits: stop while running, abandon once finish has begun.
	interrupt   <-chan struct{}
	stopOnce    sync.Once
	abandonOnce sync.Once
	done        chan struct{} // closed when the goroutine has exited
	holds       *holds
	writer      *partialWriter
	// credits bounds the windows the partition has closed that are not yet durable: one is
	// taken per partial handed to the writer and returned once it is durable (or abandoned).
	credits chan struct{}
	clock   *StageClock
	// blocked is set while the runner waits for room to hand a window or dead letters over
	// (the partition's writer is MaxPendingWindows partials behind, or the dead-letter queue is
	// full). Feed uses it to stop queueing batches the runner cannot start on: see
	// Feed.TrySend.
	blocked atomic.Bool
	// blockedSig receives (without blocking the runner) each time blocked is set, so a source
	// waiting for queue room (Feed.SendWhileBusy) stops waiting at once.
	blockedSig chan struct{}
	// outstanding counts the batches with records the feed queued that the runner has not
	// finished: queued or in hand (Feed.ReadAhead).
	outstanding atomic.Int32
	// assigned is when the runtime took the partition; records counts what it processed since
	// (Runtime.PartitionRecords: the per-partition figures of a worker's load report).
	assigned time.Time
	records  atomic.Int64

	dec     *decode.Decoder
	vals    []decode.Value
	timeIdx int // index of the event-time field in vals, -1 for broker/arrival time

	open []*openWindow // ordered by start; a replay's straddlers among them
	et   eventClock
	// written is the end of the last window handed to the writer, or where the partition
	// started (the closedThrough it was restored at, else its first window's start): a window
	// ending at or before it needs no empty partial.
	written int64
	// idleSince is the wall time (Unix ns) idleness counts from (rule 4): the last batch that
	// folded a record into its own window, or the end of the last stall, whichever is later.
	idleSince int64
	// looked is the wall time (Unix ns) the runner last read the clock at: a tick, or a batch
	// with records. A longer gap than stall before the next is a stall (look). Atomic because
	// tests wait on it: a settable clock moves only once the runner has seen it.
	looked atomic.Int64
	// behind: the last batch said more records were waiting (Batch.More). A partition starts
	// behind, because nothing is known about it yet; the source's first batch (possibly an
	// empty one saying "caught up") settles it.
	behind bool
	// quiet: caught up, and no on-time record for the idle timeout (rule 4); set on ticks.
	quiet bool
	// confirms: the source has confirmed the partition caught up with a time (Batch.CaughtUpAt),
	// and does so again while it stays caught up; confirmedAt is the latest such time (Unix ns).
	// The wall clock moves a quiet partition's watermark no further (caughtup.go).
	confirms    bool
	confirmedAt int64
	// confirmGap is the time between the last two confirmations: the source's own interval.
	confirmGap int64
	// unconfirmed: quiet, and the source has not confirmed it for the idle timeout
	// (weir_partitions_unconfirmed).
	unconfirmed bool
	// ended: the source said the partition ended (Batch.End); nothing more is read.
	ended bool

	// letters is the current batch's dead letters (nil when there are none yet).
	letters *letterGroup
	// carry counts drops before the partition has a watermark, so no window to count them in
	// (drops.go): the next partial takes them over, with the hold taken at the first of them.
	carry       carried
	lateDetail  string // the dead-letter detail of late records, made once per watermark
	lateDetailW int64
	lateCounter prometheus.Counter
	// ahead counts and logs the records stamped ahead of their broker time or the clock
	// (ahead.go).
	ahead aheadLog

	// prev is the position of the last record processed (folded, swallowed by a straddler or
	// dead-lettered): the commit point a hold taken at the next record falls back to.
	prev    Position
	hasPrev bool
}

// openWindow is one partition's state for one window. It holds the position of the first
// record (through its hold), never the records.
type openWindow struct {
	start, end int64
	states     []State // indexed like Runtime.ops, nil for operators that do not read this stream
	live       []State // the non-nil states, for the per-record loop
	drops      []DropCounter
	ack        ack
	counts     windowCounts
	bytes      int64
	// recFirst and recLast are the first and last record folded (Partial.First, Last).
	recFirst, recLast Position
	// last is the last position counted in the window, folded or a drop: how far a replay
	// swallows what belongs to it if it becomes a straddler.
	last Position
	// straddler: the window is durable already (a straddler of the checkpoint the partition was
	// restored from, replay.go): it has no state, swallows what the first run counted in it,
	// and is never written.
	straddler bool
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
		if len(b.Records) > 0 {
			r.outstanding.Add(-1)
		}
	}()
	if r.ended {
		return true // the source sends nothing after the end; if it did, it is not read
	}
	r.setBehind(b.More)
	if !b.More && !b.CaughtUpAt.IsZero() {
		r.confirm(b.CaughtUpAt.UnixNano())
	}
	if len(b.Records) == 0 {
		if b.End {
			return r.end()
		}
		return true // a source saying the partition is caught up (or not) without records
	}
	now := r.rt.now().UnixNano()
	r.look(now)
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
				if !r.deadLetter(rec, reasonDecode, err.Error(), len(b.Records)-i) {
					return false
				}
				continue
			}
		}
		t := now
		if eventTime {
			if r.timeIdx >= 0 {
				et, err := r.vals[r.timeIdx].Time()
				if err != nil {
					if !r.deadLetter(rec, reasonEventTime, err.Error(), len(b.Records)-i) {
						return false
					}
					continue
				}
				t = et.UnixNano()
			} else {
				t = rec.Time.UnixNano()
			}
			if t < minEventTime || t > maxEventTime {
				if !r.deadLetter(rec, reasonEventTime, "event time "+time.Unix(0, t).UTC().Format(time.RFC3339)+
					" is outside 1970–2200", len(b.Records)-i) {
					return false
				}
				continue
			}
		}
		if eventTime && r.timeIdx >= 0 {
			t = r.boundAhead(rec, t, now) // a stamp ahead of its broker time: a clock that runs ahead
		}
		start := t - mod(t, period)
		// Within a run of records of one window the watermark stays below its end (each is
		// before the end), so lateness needs checking only where the window changes.
		if cur == nil || cur.start != start {
			if start+period <= r.et.watermark {
				if cur = r.late(rec, len(b.Records)-i); cur == nil {
					continue
				}
			} else {
				cur = r.window(start, rec.Position)
			}
		}
		if cur.straddler && comparePositions(rec.Position, cur.last) > 0 {
			// Past what the first run counted in a durable window: the first run found it
			// closed (a replay that diverged on the wall clock, rule 7 of eventtime.go).
			if cur = r.late(rec, len(b.Records)-i); cur == nil {
				continue
			}
		}
		if cur.start == start {
			onTime = true
			if eventTime {
				r.et.observe(t, now)
			}
		}
		if cur.straddler {
			r.swallow(rec) // the first run counted it in a window that is durable already
			continue
		}
		r.fold(cur, rec)
	}
	last := b.Records[len(b.Records)-1].Position
	r.rt.metrics.records.WithLabelValues(r.p.Stream).Add(float64(len(b.Records)))
	r.rt.metrics.bytes.WithLabelValues(r.p.Stream).Add(float64(bytes))
	r.rt.stats.records.Add(int64(len(b.Records)))
	r.records.Add(int64(len(b.Records)))
	r.rt.stats.bytes.Add(bytes)
	if onTime {
		r.idleSince, r.quiet = now, false
	}
	r.warnAhead(now)
	ok := r.sealLetters() && r.closeUpTo()
	// Everything in the batch is now in a window (held) or dead-lettered (held): the commit
	// point may move up to the batch's last record once those holds are released.
	r.holds.processed(last, r.closedThrough())
	if ok && b.End {
		return r.end()
	}
	return ok
}

// fold adds a record to a window's state.
func (r *runner) fold(w *openWindow, rec *Record) {
	for _, st := range w.live {
		st.Observe(rec, r.vals)
	}
	if w.counts.records == 0 {
		w.recFirst = rec.Position
	}
	w.counts.records++
	w.bytes += rec.Size()
	w.recLast, w.last = rec.Position, rec.Position
	r.prev, r.hasPrev = rec.Position, true
}

func mod(t, period int64) int64 {
	m := t % period
	if m < 0 {
		m += period
	}
	return m
}

// closedThrough is the end up to which every window of the partition is closed: the watermark
// floored to the window grid, or 0 before the partition has one (checkpoint.go).
func (r *runner) closedThrough() int64 {
	wm := r.et.watermark
	if wm <= 0 {
		return 0
	}
	return wm - mod(wm, int64(r.rt.cfg.Period))
}

// watermarkWindow is the start of the window that holds the watermark: the oldest a record
// can still be on time in.
func (r *runner) watermarkWindow() int64 {
	return r.et.watermark - mod(r.et.watermark, int64(r.rt.cfg.Period))
}

// window returns the open window starting at start, opening it (and taking its hold at first)
// if needed. Few windows are open at once, so a linear scan beats a map.
func (r *runner) window(start int64, first Position) *openWindow {
	for i, w := range r.open {
		if w.start == start {
			return w
		}
		if w.start > start {
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
	w := &openWindow{
		start:  start,
		end:    start + int64(r.rt.cfg.Period),
		states: make([]State, len(r.ops)),
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
	if c := r.takeCarry(); c != nil {
		// The carry's hold, taken at its first drop, is earlier than this window's first
		// record: it covers both.
		w.ack = c.ack
		r.place(w, &c.counts)
	} else {
		w.ack = r.holds.take(first, r.prev, r.hasPrev, r.closedThrough())
	}
	if r.written == 0 {
		// The partition's first window is where it starts: no empty partial before it.
		r.written = start
	}
	return w
}

// onTick lets time pass without records: processing-time windows close on the wall clock, and
// a quiet partition's watermark follows it from its newest event (rule 5).
func (r *runner) onTick(now time.Time) bool {
	if r.ended {
		return true
	}
	ns := now.UnixNano()
	r.look(ns)
	cfg := r.rt.cfg
	if cfg.Time == ProcessingTime {
		r.et.follow(ns)
	} else {
		r.quiet = !r.behind && ns-r.idleSince >= int64(cfg.IdleTimeout)
		if r.quiet {
			r.et.passWallTime(ns, r.wallLimit(ns))
		}
		r.checkConfirmed(ns)
	}
	if !r.carry.counts.empty() && ns-r.carry.since >= int64(cfg.IdleTimeout) {
		r.rt.alarm.unplaced(r.p, &r.carry.counts)
	}
	ok := r.closeUpTo()
	r.holds.advance(r.closedThrough())
	return ok
}

// look notes that the runner read the clock at now (a tick, or a batch with records). After a
// stall, a longer time without a look, the process was frozen or starved (SIGSTOP, a suspended
// host, a throttled container), and its source with it: the partition's last "caught up" was
// said before records that may be waiting on the broker now, so idleness counts again from
// here (rule 4), and the wall clock closes no window over them before the source has had the
// idle timeout to fetch them.
func (r *runner) look(now int64) {
	if now-r.looked.Load() > r.rt.stall() {
		r.idleSince = max(r.idleSince, now)
	}
	r.looked.Store(now)
}

// stall is how long a runner may go without looking at the clock before its source's last
// "caught up" no longer counts (rule 4): the allowed lateness, because rule 5 never moves a
// watermark past now − allowed lateness, so a record that reached the broker during a shorter
// stall is on time whenever it is read; but at least two ticks, so that with no lateness an
// ordinary late tick is not a stall.
func (rt *Runtime) stall() int64 {
	return max(int64(rt.cfg.AllowedLateness), 2*int64(rt.tickEvery))
}

// setBehind records whether the partition has records waiting: a partition that is behind is
// never quiet (rule 4).
func (r *runner) setBehind(b bool) {
	r.behind = b
	if b {
		r.quiet = false
	}
}

// abandonNow makes every wait of the runner and its writer give up: the stop deadline passed.
func (r *runner) abandonNow() {
	r.abandonOnce.Do(func() {
		close(r.abandon)
		r.writer.cancel()
	})
}
