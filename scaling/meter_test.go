package scaling

import (
	"testing"
	"time"

	"github.com/weirstream/weir/lag"
	"github.com/weirstream/weir/pipeline"
)

var (
	t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	p0 = pipeline.Partition{Stream: "events", ID: "0"}
)

// newTracker is a lag tracker sampled every 10s over a 30s window, without metrics.
func newTracker(t *testing.T) *lag.Tracker {
	t.Helper()
	tr, err := lag.NewTracker(lag.Config{Window: 30 * time.Second, Interval: 10 * time.Second, DrainCap: time.Hour, PartitionPoints: 1}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// feed observes p's offsets every 10s from t0: each row is end, committed, processed.
func feed(tr *lag.Tracker, p pipeline.Partition, rows ...[3]int64) {
	for i, r := range rows {
		tr.Observe(p, lag.Sample{Time: t0.Add(time.Duration(i) * 10 * time.Second), End: r[0], Committed: r[1],
			Start: 0, Processed: r[2], MillisBehind: lag.Unknown})
	}
}

func TestMeterMeasure(t *testing.T) {
	tr := newTracker(t)
	records := int64(0)
	busy := 0.25
	m := &Meter{Tracker: tr, Records: func() int64 { return records }, Busy: func() float64 { return busy }, Span: time.Minute}

	// No fleet view: this worker's own partitions stand in.
	feed(tr, p0, [3]int64{1000, 100, 100}, [3]int64{1100, 300, 400}, [3]int64{1200, 500, 700}, [3]int64{1300, 700, 1000})
	in := m.Measure(t0.Add(30 * time.Second))
	want := Inputs{ArrivalRate: 10, ProcessedRate: 30, CPURate: 0.25, VCPUsPerTask: 1, LagSum: 600, LagMax: 600}
	if in != want {
		t.Fatalf("first Measure = %+v, want %+v", in, want)
	}
	// With a fleet view and the runtime's record count.
	tr.ObserveFleet(lag.FleetSample{Time: t0.Add(30 * time.Second), Ends: 5000, LagSum: 900, LagMax: 600, Partitions: 8, Members: 3})
	tr.ObserveFleet(lag.FleetSample{Time: t0.Add(40 * time.Second), Ends: 5500, LagSum: 800, LagMax: 500, Partitions: 8, Members: 3})
	records = 1200 // 1200 records in the 12s since the first Measure
	in = m.Measure(t0.Add(42 * time.Second))
	want = Inputs{ArrivalRate: 50, ProcessedRate: 300, CPURate: 0.75, VCPUsPerTask: 1, LagSum: 800, LagMax: 500, CurrentTasks: 3, Partitions: 8}
	if in != want {
		t.Fatalf("Measure = %+v, want %+v", in, want)
	}
	// The sizing function accepts it as is.
	if d := Desired(in, DefaultConfig()); d.TrueRatePerTask != 400 {
		t.Fatalf("decision %+v", d)
	}
}

// The records a steady stream keeps in open windows (arrival × hold) are not backlog: the Meter
// deducts them from the lag it hands the sizing function, never going below zero.
func TestMeterDeductsRecordsHeldByOpenWindows(t *testing.T) {
	tr := newTracker(t)
	for i, ends := range []int64{0, 10000, 20000} { // 1000 records/s
		tr.ObserveFleet(lag.FleetSample{Time: t0.Add(time.Duration(i) * 10 * time.Second), Ends: ends,
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
