package lag

import (
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/scaling"
)

func TestFleet(t *testing.T) {
	tr, err := NewTracker(testConfig(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tr.Fleet(t0, time.Minute); ok {
		t.Fatal("fleet before any sample")
	}
	// Ends grow 100 per 10s for 20s, then 400 in the last 10s.
	for i, ends := range []int64{1000, 1100, 1200, 1600} {
		tr.ObserveFleet(FleetSample{Time: t0.Add(time.Duration(i) * 10 * time.Second), Ends: ends,
			LagSum: 50 * int64(i), LagMax: 20, Partitions: 4, Members: 2})
	}
	now := t0.Add(35 * time.Second)
	f, ok := tr.Fleet(now, 10*time.Second)
	if !ok || f.ArrivalRate != 40 || f.LagSum != 150 || f.Partitions != 4 || f.Members != 2 {
		t.Fatalf("fleet over 10s = %+v %v", f, ok)
	}
	if f, _ := tr.Fleet(now, 30*time.Second); f.ArrivalRate != 20 { // 600 over 30s
		t.Fatalf("fleet over 30s: arrival %v, want 20", f.ArrivalRate)
	}
	if _, ok := tr.Fleet(t0.Add(61*time.Second), time.Minute); ok {
		t.Fatal("a fleet view three intervals old is still used")
	}
}

func TestMeterMeasure(t *testing.T) {
	tr, err := NewTracker(testConfig(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	records := int64(0)
	busy := 0.25
	m := &Meter{Tracker: tr, Records: func() int64 { return records }, Busy: func() float64 { return busy }, Span: time.Minute}

	// No fleet view: this worker's own partitions stand in.
	feed(tr, p0, row{1000, 100, 100}, row{1100, 300, 400}, row{1200, 500, 700}, row{1300, 700, 1000})
	in := m.Measure(t0.Add(30 * time.Second))
	want := scaling.Inputs{ArrivalRate: 10, ObservedRate: 30, BusyFraction: 0.25, LagSum: 600, LagMax: 600}
	if in != want {
		t.Fatalf("first Measure = %+v, want %+v", in, want)
	}
	// With a fleet view and the runtime's record count.
	tr.ObserveFleet(FleetSample{Time: t0.Add(30 * time.Second), Ends: 5000, LagSum: 900, LagMax: 600, Partitions: 8, Members: 3})
	tr.ObserveFleet(FleetSample{Time: t0.Add(40 * time.Second), Ends: 5500, LagSum: 800, LagMax: 500, Partitions: 8, Members: 3})
	records = 1200 // 1200 records in the 12s since the first Measure
	in = m.Measure(t0.Add(42 * time.Second))
	want = scaling.Inputs{ArrivalRate: 50, ObservedRate: 100, BusyFraction: 0.25, LagSum: 800, LagMax: 500, CurrentTasks: 3, Partitions: 8}
	if in != want {
		t.Fatalf("Measure = %+v, want %+v", in, want)
	}
	// The sizing function accepts it as is.
	if d := scaling.Desired(in, scaling.DefaultConfig()); d.TrueRatePerTask != 400 {
		t.Fatalf("decision %+v", d)
	}
}

// stageCounters is a scripted weir_stage_seconds_total.
type stageCounters struct {
	desc   *prometheus.Desc
	values map[[2]string]float64
}

func (s *stageCounters) Describe(ch chan<- *prometheus.Desc) { ch <- s.desc }
func (s *stageCounters) Collect(ch chan<- prometheus.Metric) {
	for k, v := range s.values {
		ch <- prometheus.MustNewConstMetric(s.desc, prometheus.CounterValue, v, k[0], k[1])
	}
}

func TestBusyFraction(t *testing.T) {
	reg := prometheus.NewRegistry()
	busy := BusyFraction(reg, "runner")
	if got := busy(); got != 1 {
		t.Fatalf("busy without stage time = %v, want 1", got)
	}
	sc := &stageCounters{desc: prometheus.NewDesc("weir_stage_seconds_total", "test", []string{"stage", "state"}, nil),
		values: map[[2]string]float64{
			{"runner", "busy"}: 3, {"runner", "idle"}: 6, {"runner", "backpressured"}: 1,
			{"source", "busy"}: 100, {"source", "idle"}: 0,
		}}
	reg.MustRegister(sc)
	if got := busy(); got != 0.3 {
		t.Fatalf("busy since start = %v, want 0.3", got)
	}
	sc.values[[2]string{"runner", "busy"}] += 9
	sc.values[[2]string{"runner", "idle"}] += 1
	if got := busy(); got != 0.9 {
		t.Fatalf("busy over the interval = %v, want 0.9", got)
	}
	if got := busy(); got != 1 {
		t.Fatalf("busy with no time elapsed = %v, want 1", got)
	}
}

func TestAnalyzerPoints(t *testing.T) {
	now := t0.Add(30*time.Second + 400*time.Millisecond)
	tr, _ := newTestTracker(t, &now)
	a := &Analyzer{Tracker: tr, Now: func() time.Time { return now },
		Dimensions: []pipeline.Dimension{{Name: "ServiceName", Value: "weir"}}}

	// Idle: the aggregates, as zeros.
	var out pipeline.Output
	a.Analyze(&out)
	if len(out.Points) != 4+5 {
		t.Fatalf("idle points: %+v", out.Points)
	}
	for _, p := range out.Points {
		if p.Value != 0 || !p.Time.Equal(t0.Add(30*time.Second)) || p.Dimensions[0].Value != "weir" {
			t.Fatalf("idle point %+v", p)
		}
	}

	feed(tr, p0, row{1000, 100, 100}, row{1100, 300, 400}, row{1200, 500, 700}, row{1300, 700, 1000})
	feed(tr, p1, row{50, 0, 0}, row{50, 0, 0}, row{50, 0, 0}, row{50, 0, 0})
	out = pipeline.Output{Points: []pipeline.Point{{Name: "Records"}}}
	a.Analyze(&out)
	got := map[string]float64{}
	for _, p := range out.Points[1:] {
		key := p.Name
		for _, d := range p.Dimensions[1:] {
			key += "," + d.Value
		}
		got[key] = p.Value
		if math.IsInf(p.Value, 0) || math.IsNaN(p.Value) {
			t.Fatalf("non-finite point %+v", p)
		}
	}
	want := map[string]float64{
		MetricRecordsMax: 600, MetricRecordsSum: 650, MetricSecondsMax: 30.4,
		MetricDrainSecondsMax:    3600, // p1 is not draining: the cap
		MetricPartitions + ",OK": 1, MetricPartitions + ",STALL": 1, MetricPartitions + ",WARN": 0,
		MetricPartitions + ",STOP": 0, MetricPartitions + ",REWIND": 0,
		// PartitionPoints 1: only the partition with the largest lag.
		MetricRecords + ",events,0": 600, MetricSeconds + ",events,0": 30.4, MetricDrainSeconds + ",events,0": 20,
	}
	if len(got) != len(want) {
		t.Fatalf("points %v, want %v", got, want)
	}
	for k, v := range want {
		if math.Abs(got[k]-v) > 1e-9 {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if out.Points[0].Name != "Records" {
		t.Fatal("Analyze replaced the window's own points")
	}
}

// The records a steady stream keeps in open windows (arrival × hold) are not backlog: the Meter
// deducts them from the lag it hands the sizing function, never going below zero.
func TestMeterDeductsRecordsHeldByOpenWindows(t *testing.T) {
	tr, err := NewTracker(testConfig(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, ends := range []int64{0, 10000, 20000} { // 1000 records/s
		tr.ObserveFleet(FleetSample{Time: t0.Add(time.Duration(i) * 10 * time.Second), Ends: ends,
			LagSum: 70000, LagMax: 20000, Partitions: 4, Members: 1})
	}
	now := t0.Add(25 * time.Second)
	m := &Meter{Tracker: tr, Span: 20 * time.Second, Hold: 65 * time.Second}
	in := m.Measure(now)
	if in.ArrivalRate != 1000 || in.LagSum != 5000 || in.LagMax != 20000-65000/4 {
		t.Errorf("inputs %+v: want arrival 1000, lag sum 70000−65000 = 5000, lag max 20000−16250 = 3750", in)
	}
	m.Hold = 10 * time.Minute
	if in := m.Measure(now); in.LagSum != 0 || in.LagMax != 0 {
		t.Errorf("a hold longer than the lag left %+v; want 0", in)
	}
}
