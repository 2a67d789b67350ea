package scaling

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetricsObserveAndLint(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg)
	in := Inputs{ArrivalRate: 7000, ProcessedRate: 7000, CPURate: 7, VCPUsPerTask: 1, LagSum: 1.2e6, LagMax: 9e4, CurrentTasks: 10, Partitions: 32}
	m.Observe(Evaluate(time.Unix(1700000000, 0), in, DefaultConfig()))
	m.Observe(Evaluate(time.Unix(1700000060, 0), Inputs{CurrentTasks: 12, Partitions: 32}, DefaultConfig()))

	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	checks := []struct {
		c    prometheus.Collector
		want float64
	}{
		{m.desired, 1}, {m.current, 12}, {m.lagSum, 0}, {m.lastEval, 1700000060},
		{m.decisions.WithLabelValues(string(ReasonScaleOut)), 1},
		{m.decisions.WithLabelValues(string(ReasonIdle)), 1},
	}
	for _, c := range checks {
		if got := testutil.ToFloat64(c.c); got != c.want {
			t.Errorf("%v = %v, want %v", c.c, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.decisions); n != 2 {
		t.Errorf("decision series = %d, want 2", n)
	}
}
