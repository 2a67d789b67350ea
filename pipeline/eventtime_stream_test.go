package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/pipeline/pipelinetest"
)

// The tests of the event-time rules (eventtime.go) run the runtime on a clock the test moves:
// quiet spells of a day take no time.

// fakeClock is a wall clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

func withClock(c *fakeClock) func(*pipeline.Options) {
	return func(o *pipeline.Options) { o.Clock = c.Now }
}

// logLines collects the runtime's log lines.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func withLog(l *logLines) func(*pipeline.Options) {
	return func(o *pipeline.Options) { o.Logger = slog.New(slog.NewTextHandler(l, nil)) }
}

// stamped is a record whose $.ts (and broker time) is ts.
func stamped(p pipeline.Partition, off int64, ts time.Time) pipeline.Record {
	return pipeline.Record{Partition: p, Position: pipeline.Position{Offset: off}, Time: ts,
		Value: []byte(`{"ts":"` + ts.UTC().Format(time.RFC3339Nano) + `"}`)}
}

// stream feeds partitions record by record and remembers what it sent: the window each
// record's stamp says, per partition.
type stream struct {
	t      *testing.T
	h      *harness
	clock  *fakeClock
	period time.Duration
	feeds  map[pipeline.Partition]*pipeline.Feed
	next   map[pipeline.Partition]int64
	want   map[time.Time]map[string]int64 // window start → partition id → records
	sent   int64
}

func newStream(t *testing.T, h *harness, clock *fakeClock, period time.Duration, parts int) *stream {
	s := &stream{t: t, h: h, clock: clock, period: period, feeds: map[pipeline.Partition]*pipeline.Feed{},
		next: map[pipeline.Partition]int64{}, want: map[time.Time]map[string]int64{}}
	for i := range parts {
		p := pipeline.Partition{Stream: "events", ID: fmt.Sprint(i)}
		f, err := h.rt.Assign(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		s.feeds[p] = f
		// The source finds the partition caught up: nothing to read yet.
		if err := f.Send(context.Background(), pipeline.Batch{Partition: p}); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func (s *stream) part(i int) pipeline.Partition {
	return pipeline.Partition{Stream: "events", ID: fmt.Sprint(i)}
}

// send sends one batch (caught up after it) of records stamped ts..., expecting them counted
// in their windows unless late says otherwise.
func (s *stream) send(p pipeline.Partition, late bool, ts ...time.Time) {
	s.t.Helper()
	b := pipeline.Batch{Partition: p}
	for _, t := range ts {
		b.Records = append(b.Records, stamped(p, s.next[p], t))
		s.next[p]++
		if !late {
			w := t.Truncate(s.period).UTC()
			if s.want[w] == nil {
				s.want[w] = map[string]int64{}
			}
			s.want[w][p.ID]++
			s.sent++
		}
	}
	if err := s.feeds[p].Send(context.Background(), b); err != nil {
		s.t.Fatal(err)
	}
}

// sendOnTimeDuring sends p what reached the broker during a span of the given length from
// start (a freeze, a hang) — a record every 500 ms, each stamped when it was sent, so all on
// time — once the span has passed, and fails the test if any of them is late.
func (s *stream) sendOnTimeDuring(p pipeline.Partition, start time.Time, span time.Duration, what string) {
	s.t.Helper()
	var ts []time.Time
	for d := 500 * time.Millisecond; d <= span; d += 500 * time.Millisecond {
		ts = append(ts, start.Add(d))
	}
	s.send(p, false, ts...)
	s.settle()
	if n := metrictest.Sum(s.t, s.h.reg, "weir_late_records_total", nil); n != 0 {
		s.t.Errorf("%v of %d records sent on time during %s were late", n, len(ts), what)
	}
}

// settle waits until the runners have processed everything sent: the clock a batch is read at
// is its arrival time, so the test moves the clock only once the batch has arrived.
func (s *stream) settle() {
	var n int64
	for _, v := range s.next {
		n += v
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.h.rt.Stats().Records != n {
		if time.Now().After(deadline) {
			s.t.Fatalf("%d of %d records processed after 10s", s.h.rt.Stats().Records, n)
		}
		time.Sleep(20 * time.Microsecond)
	}
}

// counted is how many records durable partials hold.
func (s *stream) counted() int64 {
	var n int64
	for _, w := range pipelinetest.Summaries(s.t, s.h.store) {
		for _, c := range w {
			n += c
		}
	}
	return n
}

// check compares what the partials counted, window by window and partition by partition, with
// what the stamps say.
func (s *stream) check() {
	s.t.Helper()
	got := pipelinetest.Summaries(s.t, s.h.store)
	for w, parts := range s.want {
		for p, n := range parts {
			if got[w][p] != n {
				s.t.Errorf("window %v partition %s: counted %d, want %d", w.Format(time.TimeOnly), p, got[w][p], n)
			}
		}
	}
	for w, parts := range got {
		for p, n := range parts {
			if s.want[w][p] == 0 && n > 0 {
				s.t.Errorf("window %v partition %s: counted %d, want none", w.Format(time.TimeOnly), p, n)
			}
		}
	}
}

// look waits until every runner has read the clock at its current time: a tick that saw it.
func (s *stream) look() {
	s.t.Helper()
	for p := range s.feeds {
		waitLooked(s.t, s.h.rt, s.clock, p)
	}
}

// waitLooked waits until p's runner has read the clock at its current time.
func waitLooked(t *testing.T, rt *pipeline.Runtime, clock *fakeClock, p pipeline.Partition) {
	t.Helper()
	now := clock.Now()
	pipelinetest.WaitFor(t, func() bool { return !pipeline.LookedAt(rt, p).Before(now) },
		"partition", p.ID, "did not look at the clock")
}

// pass lets d pass on the clock as it passes for a running worker, whose runners read the
// clock every tick: in steps of a second, each seen by every runner before the next (a runner
// that has not read the clock for longer than the allowed lateness was frozen, and counts
// idleness from when it looks again: runner.go). Past two minutes, when the windows open at the
// start have closed on the wall clock, the rest passes in one jump, as a freeze would.
func (s *stream) pass(d time.Duration) time.Time {
	s.t.Helper()
	for step := time.Duration(0); step < min(d, 2*time.Minute); step += time.Second {
		s.clock.advance(min(time.Second, d-step))
		s.look()
	}
	if d > 2*time.Minute {
		s.clock.advance(d - 2*time.Minute)
	}
	return s.clock.Now()
}

// finish lets a minute pass on the clock, waits until every window closed on it, closes the
// runtime and checks that every record was counted in its window and none was late or
// dead-lettered.
func (s *stream) finish() {
	s.t.Helper()
	s.pass(time.Minute)
	pipelinetest.WaitFor(s.t, func() bool { return s.counted() == s.sent })
	if err := s.h.rt.Close(context.Background()); err != nil {
		s.t.Fatal(err)
	}
	s.check()
	if n := metrictest.Sum(s.t, s.h.reg, "weir_late_records_total", nil) + metrictest.Sum(s.t, s.h.reg, "weir_dead_letters_total", nil); n != 0 {
		s.t.Errorf("%v records late or dead-lettered, want none", n)
	}
}

// liveStream starts a runtime with 10 s event-time windows on $.ts (the default lateness, 5 s,
// and idle timeout, 10 s, unless cfg changes them) on a clock the test moves, and a stream
// feeding parts partitions.
func liveStream(t *testing.T, parts int, cfg func(*pipeline.WindowConfig), opts ...func(*pipeline.Options)) (*stream, pipeline.WindowConfig) {
	wc := pipeline.DefaultWindowConfig()
	wc.Period = 10 * time.Second
	wc.TimeField = "$.ts"
	if cfg != nil {
		cfg(&wc)
	}
	clock := &fakeClock{now: time.Date(2026, 11, 21, 13, 0, 3, 0, time.UTC)}
	h := newHarness(t, wc, decode.NewPlan(decode.JSON), &pipelinetest.MemStore{}, append([]func(*pipeline.Options){withClock(clock)}, opts...)...)
	return newStream(t, h, clock, wc.Period, parts), wc
}

// burst sends, for each partition, 20 batches of 5 records 100 ms apart on the clock, each
// stamped with the clock plus skew(partition, record), then returns.
func (s *stream) burst(skew func(p, i int) time.Duration) {
	for range 20 {
		now := s.clock.advance(100 * time.Millisecond)
		for p := range len(s.feeds) {
			var ts []time.Time
			for i := range 5 {
				ts = append(ts, now.Add(-time.Duration(i)*7*time.Millisecond+skew(p, i)))
			}
			s.send(s.part(p), false, ts...)
		}
		s.settle()
	}
}

func noSkew(int, int) time.Duration { return 0 }
