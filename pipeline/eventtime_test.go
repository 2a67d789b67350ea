package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/pipeline/throughput"
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
		f, err := h.rt.Assign(p)
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

// counted is how many records durable outputs hold.
func (s *stream) counted() int64 {
	var n int64
	for _, w := range summaries(s.h.sink.outputs()) {
		for _, c := range w {
			n += c
		}
	}
	return n
}

// check compares what the outputs counted, window by window and partition by partition, with
// what the stamps say.
func (s *stream) check() {
	s.t.Helper()
	got := summaries(s.h.sink.outputs())
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

// finish lets a minute pass on the clock, waits until every window closed on it, closes the
// runtime and checks that every record was counted in its window and none was late or
// dead-lettered.
func (s *stream) finish() {
	s.t.Helper()
	s.clock.advance(time.Minute)
	waitFor(s.t, func() bool { return s.counted() == s.sent })
	if err := s.h.rt.Close(context.Background()); err != nil {
		s.t.Fatal(err)
	}
	s.check()
	if n := metricSum(s.t, s.h, "weir_late_records_total") + metricSum(s.t, s.h, "weir_dead_letters_total"); n != 0 {
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
	h := newHarness(t, wc, decode.NewPlan(decode.JSON), &memSink{}, append([]func(*pipeline.Options){withClock(clock)}, opts...)...)
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

// Quiet spells of 15 s, 70 s, 10 min and 24 h between bursts stamped with the clock: every
// record is counted in its window and none is late, and each burst's windows close during the
// spell after it (on the wall clock, every partition quiet), not only at shutdown. Before the
// event-time rules, a quiet partition took the worker's highest watermark plus the idle time
// on every tick: the burst after a 70 s spell was dead-lettered whole.
func TestEventTimeQuietSpellsNothingLate(t *testing.T) {
	s, _ := liveStream(t, 4, nil)
	for _, spell := range []time.Duration{15 * time.Second, 70 * time.Second, 10 * time.Minute, 24 * time.Hour} {
		s.burst(noSkew)
		s.clock.advance(spell)
		waitFor(t, func() bool { return s.counted() == s.sent })
	}
	s.burst(noSkew)
	s.finish()
}

// Producers skewed by ±(lateness − 1 s), two producers differing by that much writing into one
// partition, and records out of order by up to lateness − 1 s: none is late, with or without
// quiet spells between.
func TestEventTimeSkewAndDisorderWithinLatenessNothingLate(t *testing.T) {
	s, cfg := liveStream(t, 4, nil)
	most := cfg.AllowedLateness - time.Second
	rng := rand.New(rand.NewPCG(1, 2))
	skew := func(p, i int) time.Duration {
		switch p {
		case 0:
			return most // a producer ahead
		case 1:
			return -most // a producer behind
		case 2:
			if i%2 == 1 {
				return -most // two producers, lateness − 1 s apart, in one partition
			}
			return 0
		default:
			return -time.Duration(rng.Int64N(int64(most))) // out of order
		}
	}
	for _, spell := range []time.Duration{0, 3 * time.Second, 30 * time.Second, 0, 2 * time.Hour, 0} {
		for range 5 {
			s.burst(skew)
		}
		s.clock.advance(spell)
		if spell > cfg.IdleTimeout+cfg.AllowedLateness+cfg.Period {
			// Every partition quiet long enough: their windows close on the wall clock.
			waitFor(t, func() bool { return s.counted() == s.sent })
		}
	}
	s.finish()
}

// A burst stamped 10 minutes in the past after a quiet spell is late: dead-lettered with
// reason "late" (or, with oldest-open, counted in the window that holds the partition's
// watermark), counted in the metrics and in the summary report, and the share is logged.
func TestEventTimeBurstFromThePastIsLate(t *testing.T) {
	for _, policy := range []pipeline.LatePolicy{pipeline.LateDeadLetter, pipeline.LateOldestOpen} {
		t.Run(string(policy), func(t *testing.T) {
			logs := &logLines{}
			s, _ := liveStream(t, 2, func(c *pipeline.WindowConfig) { c.Late = policy }, withLog(logs))
			h, sink, clock := s.h, s.h.sink, s.clock
			s.burst(noSkew)
			clock.advance(70 * time.Second)
			waitFor(t, func() bool { return s.counted() == s.sent })
			now := clock.advance(time.Second)
			var past []time.Time
			for i := range 50 {
				past = append(past, now.Add(-10*time.Minute+time.Duration(i)*time.Millisecond))
			}
			s.send(s.part(0), true, past...)
			// Both partitions carry on: with no window open when the late ones came, partition
			// 0's next window counts them (for dead letters; oldest-open placed them in the
			// window holding its watermark).
			s.send(s.part(0), false, now)
			s.send(s.part(1), false, now)
			s.settle()
			clock.advance(time.Minute)
			if err := h.rt.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := metricSum(t, h, "weir_late_records_total"); n != 50 {
				t.Errorf("weir_late_records_total = %v, want 50", n)
			}
			var late, placed, deadLate int64
			for _, o := range sink.outputs() {
				rep := o.Reports[0].Body.(throughput.Report)
				late += rep.Late
				deadLate += rep.DeadLetters.Late
				for _, c := range rep.Partitions {
					if c.Partition == "0" && c.Late > 0 {
						placed += c.Records
					}
				}
			}
			if late != 50 {
				t.Errorf("summary reports count %d late records, want 50", late)
			}
			switch policy {
			case pipeline.LateDeadLetter:
				s.check()
				if len(sink.letters) != 50 || sink.letters[0].Reason != "late" {
					t.Errorf("%d dead letters (first %+v), want 50 with reason late", len(sink.letters), sink.letters[0])
				}
				if deadLate != 50 || metricSum(t, h, "weir_dead_letters_total") != 50 {
					t.Errorf("dead letters counted as late: report %d, metric %v; want 50", deadLate,
						metricSum(t, h, "weir_dead_letters_total"))
				}
			case pipeline.LateOldestOpen:
				// Placed in the window holding the partition's watermark: the 10-minute-old
				// records are counted, not dead-lettered.
				if placed != 50+1 || len(sink.letters) != 0 || deadLate != 0 {
					t.Errorf("%d records placed, %d dead letters; want 50 placed and none dead-lettered", placed, len(sink.letters))
				}
			}
			if out := logs.String(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, "reason=late") ||
				!strings.Contains(out, "example.partition=events/0") {
				t.Errorf("no warning naming the late records and an example:\n%s", out)
			}
		})
	}
}

// positionsOp lists, per window, the positions of the records folded in: which records fell in
// which window, exactly.
type positionsOp struct{}

func (positionsOp) Name() string                               { return "positions" }
func (positionsOp) NewState(pipeline.Partition) pipeline.State { return &positionsState{} }

type positionsState struct{ Offsets []int64 }

func (s *positionsState) Observe(r *pipeline.Record, _ []decode.Value) {
	s.Offsets = append(s.Offsets, r.Position.Offset)
}
func (s *positionsState) Merge(o pipeline.State) error {
	s.Offsets = append(s.Offsets, o.(*positionsState).Offsets...)
	return nil
}
func (s *positionsState) Emit(_ pipeline.Window, out *pipeline.Output) {
	out.Reports = append(out.Reports, pipeline.Report{Kind: "test", Name: "positions", Body: s.Offsets})
}
func (s *positionsState) EncodeMsgpack(e *msgpack.Encoder) error { return e.Encode(s.Offsets) }
func (s *positionsState) DecodeMsgpack(d *msgpack.Decoder) error { return d.Decode(&s.Offsets) }

// messyPartition is 3,000 records of one partition, 40 ms apart in event time: one in ten out of
// order by up to 4 s (inside the 5 s allowed lateness), one in fifty stamped 6 s to a minute
// back (late or not depending on where the window ends: rule 3 decides), one in a hundred
// undecodable.
func messyPartition(p pipeline.Partition, start time.Time) []pipeline.Record {
	rng := rand.New(rand.NewPCG(7, 11))
	var recs []pipeline.Record
	for i := range 3000 {
		ts := start.Add(time.Duration(i) * 40 * time.Millisecond)
		switch n := rng.IntN(100); {
		case n < 10:
			ts = ts.Add(-time.Duration(rng.Int64N(int64(4 * time.Second))))
		case n < 12:
			ts = ts.Add(-6*time.Second - time.Duration(rng.Int64N(int64(54*time.Second))))
		}
		r := stamped(p, int64(i), ts)
		if rng.IntN(100) == 0 {
			r.Value = []byte(`{"ts" "` + ts.Format(time.RFC3339Nano) + `"}`)
		}
		recs = append(recs, r)
	}
	return recs
}

// replayRun processes recs from their first position in batches of batchLen, moving the clock
// by step per batch (the source never says caught up, so no wall-clock rule applies), and
// with, beside them, a noisy neighbour whose records run an hour ahead. It returns the
// partition's window outputs as JSON, by window, and its dead letters.
func replayRun(t *testing.T, recs []pipeline.Record, batchLen int, step time.Duration, neighbour bool) (map[time.Time]string, []string) {
	cfg := pipeline.DefaultWindowConfig()
	cfg.Period = 10 * time.Second
	cfg.TimeField = "$.ts"
	clock := &fakeClock{now: recs[0].Time}
	sink := &memSink{}
	h := newHarness(t, cfg, decode.NewPlan(decode.JSON), sink, withClock(clock), func(o *pipeline.Options) {
		o.Operators = append(o.Operators, positionsOp{})
	})
	p := recs[0].Partition
	f, _ := h.rt.Assign(p)
	if neighbour {
		q := pipeline.Partition{Stream: "events", ID: "9"}
		fq, _ := h.rt.Assign(q)
		var qb pipeline.Batch
		for i := range 500 {
			qb.Records = append(qb.Records, stamped(q, int64(i), recs[0].Time.Add(time.Hour+time.Duration(i)*time.Second)))
		}
		if err := fq.Send(context.Background(), qb); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < len(recs); i += batchLen {
		clock.advance(step)
		b := pipeline.Batch{Partition: p, Records: recs[i:min(i+batchLen, len(recs))], More: true}
		if err := f.Send(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	outs := map[time.Time]string{}
	for _, o := range sink.outputs() {
		parts := o.Reports[0].Body.(throughput.Report).Partitions
		if len(parts) != 1 || parts[0].Partition != p.ID {
			continue // the neighbour's
		}
		data, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := outs[o.Window.Start]; dup {
			t.Fatalf("window %v emitted twice", o.Window.Start)
		}
		outs[o.Window.Start] = string(data)
	}
	var letters []string
	for _, l := range sink.letters {
		if l.Partition == p {
			letters = append(letters, fmt.Sprintf("%s %s", l.Position, l.Reason))
		}
	}
	return outs, letters
}

// Replay determinism (rule 7): the same partition processed twice from the same position, in
// batches of 7 with the clock moving 5 ms a batch and in batches of 400 moving 3 s a batch
// beside a partition an hour ahead, gives byte-identical window outputs and the same dead
// letters. With the watermark moved once per batch, which records were late depended on where
// the batches ended.
func TestEventTimeReplayIsDeterministic(t *testing.T) {
	p := pipeline.Partition{Stream: "events", ID: "0"}
	recs := messyPartition(p, time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC))
	first, firstLetters := replayRun(t, recs, 7, 5*time.Millisecond, false)
	again, againLetters := replayRun(t, recs, 400, 3*time.Second, true)
	if len(first) < 12 {
		t.Fatalf("%d windows, want the 12 the records span", len(first))
	}
	for w, out := range first {
		if again[w] != out {
			t.Errorf("window %v differs on replay:\nfirst %s\nagain %s", w.Format(time.TimeOnly), out, again[w])
		}
	}
	if len(again) != len(first) {
		t.Errorf("%d windows on replay, %d the first time", len(again), len(first))
	}
	if strings.Join(firstLetters, ",") != strings.Join(againLetters, ",") {
		t.Errorf("dead letters differ:\nfirst %v\nagain %v", firstLetters, againLetters)
	}
	var late int
	for _, l := range firstLetters {
		if strings.HasSuffix(l, "late") {
			late++
		}
	}
	if late == 0 || len(firstLetters) == late {
		t.Errorf("dead letters %v: want both late and undecodable ones, or the test tests little", firstLetters)
	}
}

// A partition whose every record is undecodable (a wrong format, a wrong time field) is loud:
// a warning naming the reason and an example once the idle timeout passed, at most one a
// minute; when a usable record finally comes, its window's summary counts them. Such a run
// once logged nothing at all.
func TestDeadLettersWithNoUsableRecordAreLogged(t *testing.T) {
	cfg := pipeline.DefaultWindowConfig()
	cfg.Period = 10 * time.Second
	cfg.TimeField = "$.ts"
	clock := &fakeClock{now: time.Date(2026, 11, 21, 13, 0, 3, 0, time.UTC)}
	sink := &memSink{}
	logs := &logLines{}
	h := newHarness(t, cfg, decode.NewPlan(decode.JSON), sink, withClock(clock), withLog(logs))
	p := pipeline.Partition{Stream: "events", ID: "0"}
	f, _ := h.rt.Assign(p)
	bad := pipeline.Batch{Partition: p}
	for i := range 100 {
		bad.Records = append(bad.Records, pipeline.Record{Partition: p, Position: pipeline.Position{Offset: int64(i)},
			Value: []byte(`{"time":"2026-11-21T13:00:03Z"}`)}) // no $.ts
	}
	if err := f.Send(context.Background(), bad); err != nil {
		t.Fatal(err)
	}
	warned := func() int { return strings.Count(logs.String(), "none since was usable") }
	time.Sleep(50 * time.Millisecond)
	if warned() != 0 {
		t.Fatalf("warned before the idle timeout:\n%s", logs)
	}
	clock.advance(cfg.IdleTimeout)
	waitFor(t, func() bool { return warned() == 1 })
	if out := logs.String(); !strings.Contains(out, "reason=event_time") || !strings.Contains(out, "records=100") ||
		!strings.Contains(out, `example.detail="time field is missing"`) {
		t.Errorf("the warning does not name the reason, the count and an example:\n%s", out)
	}
	clock.advance(30 * time.Second)
	time.Sleep(50 * time.Millisecond)
	if warned() != 1 {
		t.Errorf("%d warnings within a minute, want 1", warned())
	}
	clock.advance(31 * time.Second)
	waitFor(t, func() bool { return warned() == 2 })
	if !strings.Contains(logs.String(), "similar_warnings_suppressed=") {
		t.Errorf("the second warning does not say how many it stands for:\n%s", logs)
	}
	good := pipeline.Batch{Partition: p, Records: []pipeline.Record{stamped(p, 100, clock.Now())}}
	if err := f.Send(context.Background(), good); err != nil {
		t.Fatal(err)
	}
	if err := h.rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	outs := sink.outputs()
	if len(outs) != 1 {
		t.Fatalf("%d outputs, want 1", len(outs))
	}
	rep := outs[0].Reports[0].Body.(throughput.Report)
	if rep.Records != 1 || rep.DeadLetters.EventTime != 100 {
		t.Errorf("summary: %d records, dead letters %+v; want 1 and 100 event_time", rep.Records, rep.DeadLetters)
	}
}

// A partition whose producer runs an hour behind (far past the lateness) holds back nobody
// once it is idle, and its records still count in their own windows.
func TestEventTimeIdlePartitionWithSkewedClock(t *testing.T) {
	s, cfg := liveStream(t, 2, nil)
	behind := func(p, _ int) time.Duration {
		if p == 1 {
			return -time.Hour
		}
		return 0
	}
	quiet := cfg.IdleTimeout + cfg.Period + cfg.AllowedLateness + time.Second
	for range 3 {
		s.burst(behind)
		s.clock.advance(quiet)
		waitFor(t, func() bool { return s.counted() == s.sent })
	}
	s.finish()
}

// An idle partition is left out of the merge (rule 4), so the others' windows go out without
// it; when it speaks again with a record on time by its own watermark for a window already
// emitted, that record goes out as a further output of the window (rule 6): counted, not late.
func TestEventTimeIdlePartitionRejoinsAnEmittedWindow(t *testing.T) {
	s, _ := liveStream(t, 2, nil)
	fast, slow := s.part(0), s.part(1)
	now := s.clock.Now() // 13:00:03
	s.send(fast, false, now.Add(4*time.Second))
	s.send(slow, false, now)
	s.settle()
	for range 40 { // the fast partition's producer runs 4 s ahead; the slow one goes idle
		now = s.clock.advance(time.Second)
		s.send(fast, false, now.Add(4*time.Second))
		s.settle()
	}
	// Now 13:00:43: the fast partition's watermark (13:00:42) has closed [13:00:30, 13:00:40),
	// and with the slow one idle the merger has emitted it. The slow partition's watermark, on
	// the wall clock from its newest event, is 13:00:38: a record at 13:00:38.5 is on time.
	w := time.Date(2026, 11, 21, 13, 0, 30, 0, time.UTC)
	waitFor(t, func() bool { return summaries(s.h.sink.outputs())[w]["0"] == 10 })
	s.send(slow, false, now.Add(-4500*time.Millisecond))
	s.settle()
	s.finish()
	outputs := 0
	for _, o := range s.h.sink.outputs() {
		if o.Window.Start.Equal(w) {
			outputs++
		}
	}
	if outputs != 2 {
		t.Errorf("window %v went out %d times, want twice (the fast partition's, then the slow one's)", w.Format(time.TimeOnly), outputs)
	}
}
