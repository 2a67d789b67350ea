package scaling_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/weirstream/weir/load"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/scaling"
	"github.com/weirstream/weir/sinks/file"
)

var p0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// view is a scripted source view: the test sets the partitions between ticks.
type view struct {
	mu    sync.Mutex
	parts []scaling.PartitionOffsets
	err   error
	calls int
}

func (v *view) Partitions(context.Context) ([]scaling.PartitionOffsets, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.calls++
	return v.parts, v.err
}

// clock is the sizer's time, moved by the test (and by slow readers).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func (v *view) set(ends ...int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.parts = nil
	for i, e := range ends {
		v.parts = append(v.parts, scaling.PartitionOffsets{Partition: pipeline.Partition{Stream: "events", ID: string(rune('0' + i))}, End: e, Committed: e})
	}
}

func newStore(t *testing.T) *file.PartialStore {
	t.Helper()
	s, err := file.New(file.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return s.PartialStore()
}

// report writes worker's report of the period starting at start: records in 60 s for cpu CPU
// seconds, one partition per id.
func report(t *testing.T, st *file.PartialStore, start time.Time, worker string, records int64, cpu float64, ids ...string) {
	t.Helper()
	r := &load.Report{V: load.Version, Worker: worker, Start: start.UnixNano(), Seconds: 60, VCPUs: 1, Records: records, CPUSeconds: cpu}
	for _, id := range ids {
		r.Partitions = append(r.Partitions, load.Partition{Stream: "events", ID: id, Records: records / int64(len(ids)), Seconds: 60,
			MillisBehind: load.Unknown, MillisBehindStart: load.Unknown})
	}
	b, err := load.Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.WriteLoad(context.Background(), start, worker, b); err != nil {
		t.Fatal(err)
	}
}

// The aggregator's publisher reads the period's load reports from the store and the source's
// view, and publishes one series per service: no TaskId, every metric, zeros when idle.
func TestFleetPublisherTick(t *testing.T) {
	st := newStore(t)
	v := &view{}
	cfg := scaling.DefaultConfig()
	reg := prometheus.NewPedanticRegistry()
	m := scaling.NewMetrics(reg)
	latest := &scaling.Latest{}
	var emitted []pipeline.Point
	fleet := []pipeline.Dimension{{Name: "ServiceName", Value: "weir"}}
	clk := &clock{}
	p := &scaling.FleetPublisher{Config: cfg, Sizer: &scaling.Sizer{Config: cfg, Loads: st, Source: v, Clock: clk.Now}, Fleet: fleet,
		Emit:   func(_ context.Context, pts []pipeline.Point) error { emitted = append(emitted, pts...); return nil },
		Latest: latest, Metrics: m}
	ctx := context.Background()

	// 12:00–12:01: two workers, 4 partitions at 1000 rec/s each, 1 CPU s/s each per 2000
	// records; a damaged report beside them.
	v.set(0, 0, 0, 0)
	clk.set(p0.Add(15 * time.Second))
	if err := p.Sizer.Prime(ctx); err != nil {
		t.Fatal(err)
	}
	report(t, st, p0, "a", 120000, 60, "0", "1")
	report(t, st, p0, "b", 120000, 60, "2", "3")
	if err := st.WriteLoad(ctx, p0, "broken", []byte("not msgpack")); err != nil {
		t.Fatal(err)
	}
	v.set(60000, 60000, 60000, 60000)
	clk.set(p0.Add(time.Minute + 15*time.Second))
	s, err := p.Tick(ctx, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	// 4000 rec/s at 2000 per task: 2.86 tasks, on 4 partitions: 4.
	if s.Decision.DesiredTasks != 4 || s.Inputs.ArrivalRate != 4000 || s.Inputs.CurrentTasks != 2 || s.Fleet.Reports != 2 ||
		s.Fleet.Invalid != 1 || s.Fleet.ArrivalFrom != "end-offsets" || !s.Time.Equal(p0.Add(time.Minute)) {
		t.Fatalf("signal %+v fleet %+v", s, s.Fleet)
	}
	names := map[string]bool{}
	for _, pt := range emitted {
		if len(pt.Dimensions) != 1 || pt.Dimensions[0] != fleet[0] {
			t.Errorf("%s published with %v: want the service's one series", pt.Name, pt.Dimensions)
		}
		if !pt.Time.Equal(p0.Add(time.Minute)) {
			t.Errorf("%s at %v", pt.Name, pt.Time)
		}
		names[pt.Name] = true
	}
	for _, n := range []string{scaling.MetricDesiredTasks, scaling.MetricBacklogSecondsPerTask, scaling.MetricCurrentTasks} {
		if !names[n] {
			t.Errorf("%s not published (published %v)", n, names)
		}
	}
	if got := testutil.ToFloat64(prometheus.Collector(m.DesiredGauge())); got != 4 {
		t.Errorf("desired gauge %v", got)
	}

	// 12:01–12:02: idle. The workers still report; the ends did not move.
	emitted = nil
	report(t, st, p0.Add(time.Minute), "a", 0, 0.6, "0", "1")
	report(t, st, p0.Add(time.Minute), "b", 0, 0.6, "2", "3")
	s, err = p.Tick(ctx, p0.Add(2*time.Minute+15*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if s.Decision.DesiredTasks != 1 || s.Decision.Reason != scaling.ReasonIdle {
		t.Fatalf("idle: %+v", s.Decision)
	}
	for _, pt := range emitted {
		want := 0.0
		switch pt.Name {
		case scaling.MetricDesiredTasks:
			want = 1
		case scaling.MetricCurrentTasks:
			want = 2
		case scaling.MetricUtilization:
			want = 1 // 0.6 CPU s in 60 s of 1 vCPU: 1 %
		}
		if pt.Value != want {
			t.Errorf("idle: %s = %v, want %v", pt.Name, pt.Value, want)
		}
	}
	if len(emitted) != 9 {
		t.Errorf("idle: %d points, want every one of the 9 metrics", len(emitted))
	}

	// 12:02–12:03: no report at all: nothing is published, and the failure is counted.
	emitted = nil
	if _, err := p.Tick(ctx, p0.Add(3*time.Minute+15*time.Second)); err == nil || !strings.Contains(err.Error(), "no load reports") {
		t.Fatalf("a period without reports: %v", err)
	}
	if len(emitted) != 0 || testutil.ToFloat64(m.MeasureErrors()) != 1 {
		t.Errorf("published %d points, measure errors %v", len(emitted), testutil.ToFloat64(m.MeasureErrors()))
	}

	// The source cannot be asked: the reports stand in.
	report(t, st, p0.Add(3*time.Minute), "a", 60000, 30, "0", "1")
	v.mu.Lock()
	v.err = errors.New("broker unreachable")
	v.mu.Unlock()
	s, err = p.Tick(ctx, p0.Add(4*time.Minute+15*time.Second))
	if err != nil || s.Fleet.ArrivalFrom != "processed" || s.Inputs.ArrivalRate != 1000 {
		t.Fatalf("without the source: %v, %+v %+v", err, s.Inputs, s.Fleet)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range problems {
		t.Errorf("lint: %s: %s", pr.Metric, pr.Text)
	}
}

// A view taken less than half a period before a tick is not compared with: the processed rate
// stands in, and the view is kept for the next tick.
func TestSizerComparesViewsAPeriodApart(t *testing.T) {
	st := newStore(t)
	v := &view{}
	cfg := scaling.DefaultConfig()
	clk := &clock{}
	sz := &scaling.Sizer{Config: cfg, Loads: st, Source: v, Clock: clk.Now}
	ctx := context.Background()
	v.set(0)
	clk.set(p0.Add(70 * time.Second))
	if err := sz.Prime(ctx); err != nil {
		t.Fatal(err)
	}
	report(t, st, p0, "a", 6000, 6, "0")
	v.set(5000) // a burst in the 5 s before the tick
	clk.set(p0.Add(75 * time.Second))
	in, det, _, err := sz.Measure(ctx, clk.Now())
	if err != nil || det.ArrivalFrom != "processed" || in.ArrivalRate != 100 {
		t.Fatalf("5 s after the prime: %v %+v %+v", err, in, det)
	}
	report(t, st, p0.Add(time.Minute), "a", 6000, 6, "0")
	v.set(12000)
	clk.set(p0.Add(135 * time.Second))
	in, det, _, err = sz.Measure(ctx, clk.Now())
	if err != nil || det.ArrivalFrom != "end-offsets" || in.ArrivalRate != 12000.0/65 {
		t.Fatalf("65 s after the prime: %v %+v %+v", err, in, det)
	}
}

// slowView answers after lag and reads its end offsets halfway: what the source saw then.
type slowView struct {
	clk  *clock
	lag  time.Duration
	ends func(at time.Time) int64
}

func (v *slowView) Partitions(context.Context) ([]scaling.PartitionOffsets, error) {
	v.clk.advance(v.lag / 2)
	end := v.ends(v.clk.Now())
	v.clk.advance(v.lag / 2)
	return []scaling.PartitionOffsets{{Partition: pipeline.Partition{Stream: "events", ID: "0"}, End: end, Committed: end}}, nil
}

// slowLoads takes lag to list the reports.
type slowLoads struct {
	*file.PartialStore
	clk *clock
	lag time.Duration
}

func (l *slowLoads) ListLoads(ctx context.Context, start time.Time, fn func(string) bool) error {
	l.clk.advance(l.lag)
	return l.PartialStore.ListLoads(ctx, start, fn)
}

// The arrival rate is the growth of the end offsets over the time between their reads, not
// between the ticks: under load the reports' listing and ListOffsets are slow, more on one
// tick than another, and a rate over the ticks' minute would be wrong by as much.
func TestSizerTimesTheViewByItsRead(t *testing.T) {
	st := newStore(t)
	clk := &clock{}
	const rate = 100 // records a second, steady
	v := &slowView{clk: clk, lag: 4 * time.Second, ends: func(at time.Time) int64 { return int64(at.Sub(p0).Seconds() * rate) }}
	loads := &slowLoads{PartialStore: st, clk: clk}
	sz := &scaling.Sizer{Config: scaling.DefaultConfig(), Loads: loads, Source: v, Clock: clk.Now}
	ctx := context.Background()
	clk.set(p0.Add(15 * time.Second))
	if err := sz.Prime(ctx); err != nil {
		t.Fatal(err)
	}
	for i, lag := range []time.Duration{20 * time.Second, time.Second, 0} {
		start := p0.Add(time.Duration(i) * time.Minute)
		report(t, st, start, "a", 60*rate, 6, "0")
		v.lag, loads.lag = lag, lag
		clk.set(start.Add(time.Minute + 15*time.Second))
		in, det, _, err := sz.Measure(ctx, clk.Now())
		if err != nil || det.ArrivalFrom != "end-offsets" || math.Abs(in.ArrivalRate-rate) > 0.01 {
			t.Fatalf("tick %d, reads %v slow: %v, arrival %v from %q, want %d rec/s from the end offsets", i, lag, err, in.ArrivalRate, det.ArrivalFrom, rate)
		}
	}
}

// GET /v1/scaling: the aggregator serves its signal; any other worker says it is not the
// aggregator, with its own load report.
func TestLatestAggregatorOrNot(t *testing.T) {
	latest := &scaling.Latest{Local: func() (load.Report, bool) {
		return load.Report{V: load.Version, Worker: "task-b", Seconds: 60, VCPUs: 1, Records: 42}, true
	}}
	srv := httptest.NewServer(latest)
	defer srv.Close()
	get := func() (int, map[string]any) {
		t.Helper()
		res, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, body
	}
	latest.SetAggregator(false)
	code, body := get()
	if code != http.StatusNotFound || body["aggregator"] != false || !strings.Contains(body["error"].(string), "not the aggregator") ||
		body["load"].(map[string]any)["records"] != 42.0 {
		t.Fatalf("a worker: %d %v", code, body)
	}
	latest.SetAggregator(true)
	if code, _ := get(); code != http.StatusServiceUnavailable {
		t.Fatalf("the aggregator before its first sizing: %d", code)
	}
	latest.Set(scaling.Signal{Time: p0, Decision: scaling.Decision{DesiredTasks: 3, Reason: scaling.ReasonSteady},
		Fleet: &scaling.Detail{Reports: 3, Workers: []scaling.WorkerLoad{}}})
	code, body = get()
	if code != http.StatusOK || body["decision"].(map[string]any)["desired_tasks"] != 3.0 || body["fleet"].(map[string]any)["reports"] != 3.0 {
		t.Fatalf("the aggregator: %d %v", code, body)
	}
	latest.SetAggregator(false)
	if code, _ := get(); code != http.StatusNotFound {
		t.Fatalf("after the term: %d", code)
	}
}

// Run is a term's duty: it publishes after each period boundary while the term lasts, and
// the process stops being the aggregator when it returns.
func TestFleetPublisherRun(t *testing.T) {
	st := newStore(t)
	v := &view{}
	v.set(0)
	cfg := scaling.DefaultConfig()
	cfg.Period = time.Second
	counters := func() load.Counters { return load.Counters{} }
	w := &load.Writer{Worker: "w1", Period: time.Second, VCPUs: 1, Store: st, Counters: counters}
	latest := &scaling.Latest{}
	var mu sync.Mutex
	var published int
	p := &scaling.FleetPublisher{Config: cfg, Sizer: &scaling.Sizer{Config: cfg, Loads: st, Source: v}, Latest: latest,
		Emit: func(context.Context, []pipeline.Point) error { mu.Lock(); published++; mu.Unlock(); return nil }}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = w.Run(ctx) }()
	go func() { defer wg.Done(); _ = p.Run(ctx) }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if s, ok := latest.Get(); ok && s.Fleet.Reports == 1 && s.Decision.Reason == scaling.ReasonIdle {
			break
		}
		if time.Now().After(deadline) {
			s, ok := latest.Get()
			t.Fatalf("no signal from the worker's reports within 15 s: %+v %v", s, ok)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if published == 0 {
		t.Error("nothing published")
	}
	if _, ok := latest.Get(); ok {
		t.Error("the signal outlived the term")
	}
}
