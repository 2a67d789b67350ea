package lag

import (
	"math"
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline"
)

func TestAnalyzerPoints(t *testing.T) {
	now := t0.Add(30*time.Second + 400*time.Millisecond)
	tr, _ := newTestTracker(t, &now)
	a := &Analyzer{Tracker: tr, Now: func() time.Time { return now },
		Dimensions: []pipeline.Dimension{{Name: "ServiceName", Value: "weir"}}}

	// Idle: the aggregates, as zeros.
	var out pipeline.Output
	a.Analyze(&out)
	if len(out.Points) != 5+5 {
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
		MetricPartitionsUnknown:  0,
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
