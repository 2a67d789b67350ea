package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/pipeline/pipelinetest"
)

// The health meter reports the dead letters and failed sink writes since its previous call,
// zeros when nothing happened.
func TestHealthMeterCountsDeadLettersAndSinkErrors(t *testing.T) {
	cfg := pipeline.DefaultWindowConfig()
	cfg.Period = 10 * time.Second
	cfg.TimeField = "$.ts"
	// The records' broker time is t0 while their stamps run up to 31 s past it: a fixture, not a
	// clock ahead (ahead.go), so their stamps are their event times.
	cfg.MaxAhead = time.Minute
	store := &pipelinetest.MemStore{Fail: 2}
	h := newHarness(t, cfg, decode.NewPlan(decode.JSON), store)
	meter := &pipeline.HealthMeter{Stats: h.rt.Stats}
	if got := values(meter.Points(nil)); got[pipeline.MetricDeadLetters] != 0 || got[pipeline.MetricSinkWriteErrors] != 0 {
		t.Fatalf("before anything happened: %v", got)
	}
	p := pipeline.Partition{Stream: "events", ID: "0"}
	f, _ := h.rt.Assign(p, nil)
	b := pipeline.Batch{Partition: p, Records: []pipeline.Record{
		{Partition: p, Position: pipeline.Position{Offset: 0}, Value: []byte(`{"ts":"2026-11-21T13:00:01Z"}`), Time: t0},
		{Partition: p, Position: pipeline.Position{Offset: 1}, Value: []byte(`{"ts":`), Time: t0}, // undecodable
		// Its watermark closes the first window: two failed writes of its partial, then one
		// that succeeds.
		{Partition: p, Position: pipeline.Position{Offset: 2}, Value: []byte(`{"ts":"2026-11-21T13:00:20Z"}`), Time: t0},
	}}
	if err := f.Send(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	pipelinetest.WaitFor(t, func() bool { return h.rt.Stats().Partials == 1 })
	if err := h.rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := h.rt.Stats(); st.DeadLetters != 1 || st.SinkErrors != 2 {
		t.Errorf("Stats: %d dead letters, %d sink errors; want 1 and 2", st.DeadLetters, st.SinkErrors)
	}
	pts := meter.Points(nil)
	if got := values(pts); got[pipeline.MetricDeadLetters] != 1 || got[pipeline.MetricSinkWriteErrors] != 2 {
		t.Errorf("points %v, want 1 dead letter and 2 sink write errors", got)
	}
	for _, pt := range pts {
		if pt.Unit != pipeline.UnitCount || !pt.Time.IsZero() || pt.Dimensions != nil {
			t.Errorf("point %+v: want a Count without time or dimensions (the publisher stamps them)", pt)
		}
	}
	if got := values(meter.Points(nil)); got[pipeline.MetricDeadLetters] != 0 || got[pipeline.MetricSinkWriteErrors] != 0 {
		t.Errorf("second call, nothing new: %v, want zeros", got)
	}
}

func values(pts []pipeline.Point) map[string]float64 {
	m := map[string]float64{}
	for _, p := range pts {
		m[p.Name] += p.Value
	}
	return m
}

// With the source's commit-error total, the meter reports the failed commits since its
// previous call too, zero when none failed; without it, no CommitErrors point at all.
func TestHealthMeterCountsCommitErrors(t *testing.T) {
	var total int64
	meter := &pipeline.HealthMeter{Stats: func() pipeline.Stats { return pipeline.Stats{} },
		CommitErrors: func() int64 { return total }}
	for _, step := range []struct{ add, want int64 }{{0, 0}, {3, 3}, {0, 0}, {1, 1}} {
		total += step.add
		pts := meter.Points(nil)
		got, ok := values(pts)[pipeline.MetricCommitErrors]
		if !ok || got != float64(step.want) {
			t.Fatalf("after %d more failed commits: %v (present %v), want %d", step.add, got, ok, step.want)
		}
	}
	none := &pipeline.HealthMeter{Stats: func() pipeline.Stats { return pipeline.Stats{} }}
	if _, ok := values(none.Points(nil))[pipeline.MetricCommitErrors]; ok {
		t.Error("a CommitErrors point without a source that commits")
	}
}
