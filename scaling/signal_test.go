package scaling

import (
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline"
)

func TestPointsIdleAreZerosNotMissing(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	s := Evaluate(now, "", Inputs{CurrentTasks: 3, Partitions: 8}, DefaultConfig())
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

func TestPointsPerTaskDimensionSet(t *testing.T) {
	in := Inputs{ArrivalRate: 7000, ProcessedRate: 7000, CPURate: 7, VCPUsPerTask: 1, LagSum: 1.2e6, LagMax: 9e4, CurrentTasks: 10, Partitions: 60}
	s := Evaluate(time.Unix(600, 0), "abc123", in, DefaultConfig())
	// Spare capacity in fleet would let a careless append write into the caller's array.
	fleet := make([]pipeline.Dimension, 1, 4)
	fleet[0] = pipeline.Dimension{Name: "ServiceName", Value: "weir"}
	got := Points(s, fleet)
	if len(got) != 18 {
		t.Fatalf("got %d points, want 9 fleet + 9 per task", len(got))
	}
	perTask := map[string]float64{}
	for _, p := range got {
		switch len(p.Dimensions) {
		case 1:
		case 2:
			if p.Dimensions[1] != (pipeline.Dimension{Name: DimensionTaskID, Value: "abc123"}) {
				t.Errorf("%s: per-task dims %v", p.Name, p.Dimensions)
			}
			perTask[p.Name] = p.Value
		default:
			t.Errorf("%s: dims %v", p.Name, p.Dimensions)
		}
		if len(p.Dimensions) == 1 && p.Dimensions[0].Name != "ServiceName" {
			t.Errorf("fleet dims overwritten: %v", p.Dimensions)
		}
	}
	want := map[string]float64{
		MetricDesiredTasks: 12, MetricCurrentTasks: 10, MetricBacklogSecondsPerTask: 120,
		MetricTrueRatePerTask: 1000, MetricLagSum: 1.2e6, MetricLagMax: 9e4,
		MetricArrivalRate: 7000, MetricProcessedRate: 7000, MetricUtilization: 70,
	}
	for name, v := range want {
		if !near(perTask[name], v) {
			t.Errorf("per-task %s = %v, want %v", name, perTask[name], v)
		}
	}
}
