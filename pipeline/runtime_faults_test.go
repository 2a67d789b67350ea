package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/pipeline/pipelinetest"
)

func TestRuntimeDeadLettersUndecodableAndLateRecords(t *testing.T) {
	cfg := pipeline.DefaultWindowConfig()
	cfg.Period = 10 * time.Second
	cfg.AllowedLateness = 0
	cfg.TimeField = "$.ts"
	sink := &pipelinetest.MemSink{}
	h := newHarness(t, cfg, decode.NewPlan(decode.JSON), sink)
	p := pipeline.Partition{Stream: "events", ID: "0"}
	f, _ := h.rt.Assign(p)
	rec := func(off int64, v string) pipeline.Record {
		return pipeline.Record{Partition: p, Position: pipeline.Position{Offset: off}, Value: []byte(v), Time: t0}
	}
	ctx := context.Background()
	b := pipeline.Batch{Partition: p, Records: []pipeline.Record{
		rec(0, `{"ts":"2026-11-21T13:00:01Z"}`),
		rec(1, `{"ts":`), // undecodable
		rec(2, `{"ts":"yesterday"}`),
		rec(3, `{"ts":"2026-11-21T13:00:25Z"}`), // watermark moves to 13:00:25 after this batch
	}}
	if err := f.Send(ctx, b); err != nil {
		t.Fatal(err)
	}
	late := pipeline.Batch{Partition: p, Records: []pipeline.Record{rec(4, `{"ts":"2026-11-21T13:00:02Z"}`), rec(5, `{"ts":"2026-11-21T13:00:26Z"}`)}}
	if err := f.Send(ctx, late); err != nil {
		t.Fatal(err)
	}
	if err := h.rt.Close(ctx); err != nil {
		t.Fatal(err)
	}
	reasons := map[int64]string{}
	for _, l := range sink.DeadLetters() {
		reasons[l.Position.Offset] = l.Reason
	}
	want := map[int64]string{1: "decode", 2: "event_time", 4: "late"}
	for off, r := range want {
		if reasons[off] != r {
			t.Errorf("offset %d: dead-letter reason %q, want %q (all: %v)", off, reasons[off], r, reasons)
		}
	}
	if len(sink.DeadLetters()) != 3 {
		t.Errorf("%d dead letters, want 3", len(sink.DeadLetters()))
	}
	got := summaries(sink.Outputs())
	if got[t0]["0"] != 1 || got[t0.Add(20*time.Second)]["0"] != 2 {
		t.Errorf("counts %v: want 1 in [0,10s) and 2 in [20s,30s)", got)
	}
	if c, _ := h.commits.Get(p); c != 5 {
		t.Errorf("committed %d after close, want 5: dead letters are acknowledged", c)
	}
	if n := metrictest.Sum(t, h.reg, "weir_late_records_total", nil); n != 1 {
		t.Errorf("weir_late_records_total = %v, want 1", n)
	}
	if n := metrictest.Sum(t, h.reg, "weir_dead_letters_total", nil); n != 3 {
		t.Errorf("weir_dead_letters_total = %v, want 3", n)
	}
}

func TestRuntimeMetricsLint(t *testing.T) {
	h := newHarness(t, pipeline.DefaultWindowConfig(), nil, &pipelinetest.MemSink{})
	defer h.rt.Close(context.Background())
	if _, err := h.rt.Assign(pipeline.Partition{Stream: "events", ID: "0"}); err != nil {
		t.Fatal(err)
	}
	// The stage gauges appear at the first once-a-second tick: lint what a scrape then sees.
	pipelinetest.WaitFor(t, func() bool { return metrictest.Sum(t, h.reg, "weir_stage_time_ratio", nil) > 0 })
	problems, err := testutil.GatherAndLint(h.reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("metric %s: %s", p.Metric, p.Text)
	}
}
