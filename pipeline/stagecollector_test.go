package pipeline_test

import (
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/pipeline"
)

// StageTotals is weir_stage_seconds_total read without a scrape: the same totals, retired
// clocks included, and zero for a stage without clocks (which it does not create).
func TestStageTotalsMatchTheCounter(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := pipeline.NewMetrics(reg)
	if b, p, i := m.StageTotals("runner"); b != 0 || p != 0 || i != 0 {
		t.Fatalf("a stage without clocks has totals %v %v %v", b, p, i)
	}
	c := m.StageClock("runner")
	c.Enter(pipeline.StageBusy)
	time.Sleep(20 * time.Millisecond)
	c.Enter(pipeline.StageBackpressured)
	time.Sleep(10 * time.Millisecond)
	m.RetireStageClock("runner", c) // its totals stop moving
	busy, bp, idle := m.StageTotals("runner")
	if busy < 20*time.Millisecond || bp < 10*time.Millisecond {
		t.Errorf("totals busy %v, backpressured %v: want at least the 20ms and 10ms spent", busy, bp)
	}
	want := map[string]float64{"busy": busy.Seconds(), "backpressured": bp.Seconds(), "idle": idle.Seconds()}
	for state, v := range want {
		got := metrictest.Sum(t, reg, "weir_stage_seconds_total", map[string]string{"stage": "runner", "state": state})
		if math.Abs(got-v) > 1e-9 {
			t.Errorf("weir_stage_seconds_total{state=%q} = %v, StageTotals says %v", state, got, v)
		}
	}
}
