package scaling

import (
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline"
)

func TestPointsIdleAreZerosNotMissing(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	s := Evaluate(now, Inputs{CurrentTasks: 3, Partitions: 8}, DefaultConfig())
	fleet := []pipeline.Dimension{{Name: "ServiceName", Value: "weir"}}
	got := Points(s, fleet)
	want := map[string]float64{
		MetricDesiredTasks: 1, MetricCurrentTasks: 3, MetricBacklogSecondsPerTask: 0,
		MetricTrueRatePerTask: 0, MetricLagSum: 0, MetricLagMax: 0,
		MetricArrivalRate: 0, MetricProcessedRate: 0, MetricUtilization: 0,
	}
	if len(got) != len(want) {
		t.Fatalf("got %d points, want %d: %+v", len(got), len(want), got)
	}
	for _, p := range got {
		v, ok := want[p.Name]
		if !ok || p.Value != v {
			t.Errorf("%s = %v, want %v (known %v)", p.Name, p.Value, v, ok)
		}
		if !p.Time.Equal(now) || len(p.Dimensions) != 1 || p.Dimensions[0] != fleet[0] {
			t.Errorf("%s: time %v dims %v", p.Name, p.Time, p.Dimensions)
		}
		delete(want, p.Name)
	}
}

// A busy fleet's signal: one series per metric, with the service's dimensions only.
func TestPointsOneSeriesPerService(t *testing.T) {
	in := Inputs{ArrivalRate: 7000, ProcessedRate: 7000, CPURate: 7, VCPUsPerTask: 1, LagSum: 1.2e6, LagMax: 9e4, CurrentTasks: 10, Partitions: 60}
	s := Evaluate(time.Unix(600, 0), in, DefaultConfig())
	fleet := []pipeline.Dimension{{Name: "ServiceName", Value: "weir"}}
	got := Points(s, fleet)
	want := map[string]float64{
		MetricDesiredTasks: 12, MetricCurrentTasks: 10, MetricBacklogSecondsPerTask: 120,
		MetricTrueRatePerTask: 1000, MetricLagSum: 1.2e6, MetricLagMax: 9e4,
		MetricArrivalRate: 7000, MetricProcessedRate: 7000, MetricUtilization: 70,
	}
	if len(got) != len(want) {
		t.Fatalf("got %d points, want one per metric: %+v", len(got), got)
	}
	for _, p := range got {
		if len(p.Dimensions) != 1 || p.Dimensions[0] != fleet[0] {
			t.Errorf("%s: dims %v, want the service's only", p.Name, p.Dimensions)
		}
		if !near(p.Value, want[p.Name]) {
			t.Errorf("%s = %v, want %v", p.Name, p.Value, want[p.Name])
		}
	}
}
