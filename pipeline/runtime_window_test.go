package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/pipeline/pipelinetest"
)

// A partition that closes several windows in one batch, with a single credit, while another
// partition lags behind, must not deadlock: each partial's write returns the credit the next
// hand-over needs.
func TestRuntimeManyWindowsOneCreditNoDeadlock(t *testing.T) {
	cfg := pipeline.DefaultWindowConfig()
	cfg.Period = time.Second
	cfg.AllowedLateness = 0
	cfg.MaxPendingWindows = 1
	store := &pipelinetest.MemStore{}
	h := newHarness(t, cfg, nil, store)
	fast := pipeline.Partition{Stream: "events", ID: "0"}
	slow := pipeline.Partition{Stream: "events", ID: "1"}
	ff, _ := h.rt.Assign(fast, nil)
	fs, _ := h.rt.Assign(slow, nil)
	ctx := context.Background()
	// 10 windows in one batch for the fast partition; the slow one is 5 windows behind.
	if err := ff.Send(ctx, batch(fast, 0, 100, t0, 100*time.Millisecond, "x")); err != nil {
		t.Fatal(err)
	}
	first := batch(slow, 0, 50, t0, 100*time.Millisecond, "x")
	first.More = true // the source knows the rest is coming: the slow partition is behind, not quiet
	if err := fs.Send(ctx, first); err != nil {
		t.Fatal(err)
	}
	pipelinetest.WaitFor(t, func() bool { c, ok := h.commits.Get(slow); return ok && c >= 39 })
	if err := fs.Send(ctx, batch(slow, 50, 50, t0.Add(5*time.Second), 100*time.Millisecond, "x")); err != nil {
		t.Fatal(err)
	}
	pipelinetest.WaitFor(t, func() bool { c, ok := h.commits.Get(fast); return ok && c >= 89 })
	pipelinetest.WaitFor(t, func() bool { c, ok := h.commits.Get(slow); return ok && c >= 89 })
	if err := h.rt.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got := pipelinetest.Summaries(t, store)
	for i := range 9 {
		w := t0.Add(time.Duration(i) * time.Second)
		if got[w]["0"] != 10 || got[w]["1"] != 10 {
			t.Errorf("window %v: %v, want 10 per partition", w.Format(time.TimeOnly), got[w])
		}
	}
}

// Processing-time windows take the wall clock when the batch arrives, whatever the records'
// timestamps say, and close on the wall clock with no further input.
func TestRuntimeProcessingTimeWindows(t *testing.T) {
	cfg := pipeline.DefaultWindowConfig()
	cfg.Period = time.Second
	cfg.Time = pipeline.ProcessingTime
	store := &pipelinetest.MemStore{}
	h := newHarness(t, cfg, nil, store)
	p := pipeline.Partition{Stream: "events", ID: "0"}
	f, _ := h.rt.Assign(p, nil)
	before := time.Now().Truncate(time.Second)
	// Timestamps a year old: irrelevant in processing time.
	if err := f.Send(context.Background(), batch(p, 0, 10, t0.AddDate(-1, 0, 0), time.Hour, "x")); err != nil {
		t.Fatal(err)
	}
	var counted map[time.Time]int64
	pipelinetest.WaitFor(t, func() bool { // closes by itself within ~1s
		counted = map[time.Time]int64{}
		for k, pt := range store.Partials(t) {
			if pt.Records > 0 {
				counted[k.Start] += pt.Records
			}
		}
		return len(counted) > 0
	})
	for w, n := range counted {
		if w.Before(before) || w.After(time.Now()) || n != 10 || len(counted) != 1 {
			t.Errorf("window %v counted %d: want the 10 records in the wall-clock window of the batch (~%v)", w, n, before)
		}
	}
	if err := h.rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A caught-up partition that goes quiet closes its last window on the wall clock (rule 5), and
// one that never had a record writes empty partials as the wall clock passes windows, so the
// aggregator never waits for either.
func TestRuntimeQuietPartitionsClosePartials(t *testing.T) {
	cfg := pipeline.DefaultWindowConfig()
	cfg.Period = time.Second
	cfg.AllowedLateness = 0
	cfg.IdleTimeout = 100 * time.Millisecond
	store := &pipelinetest.MemStore{}
	h := newHarness(t, cfg, nil, store)
	a := pipeline.Partition{Stream: "events", ID: "0"}
	quiet := pipeline.Partition{Stream: "events", ID: "1"}
	fa, _ := h.rt.Assign(a, nil)
	fq, _ := h.rt.Assign(quiet, nil)
	// The quiet partition's source says it is caught up (an empty batch), and it never speaks again.
	if err := fq.Send(context.Background(), pipeline.Batch{Partition: quiet}); err != nil {
		t.Fatal(err)
	}
	if err := fa.Send(context.Background(), batch(a, 0, 5, t0, 100*time.Millisecond, "x")); err != nil {
		t.Fatal(err)
	}
	pipelinetest.WaitFor(t, func() bool { return pipelinetest.Summaries(t, store)[t0]["0"] == 5 })
	pipelinetest.WaitFor(t, func() bool {
		for k, pt := range store.Partials(t) {
			if k.Partition == quiet && pt.Records == 0 && k.Start.After(time.Now().Add(-5*time.Second)) {
				return true
			}
		}
		return false
	})
	if err := h.rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A partition whose source said more records are waiting is never quiet, however long it is
// starved: its windows stay open (no late records from a false idle), and it writes nothing.
func TestRuntimeBehindPartitionIsNeverIdle(t *testing.T) {
	cfg := pipeline.DefaultWindowConfig()
	cfg.Period = time.Second
	cfg.AllowedLateness = 0
	cfg.IdleTimeout = 50 * time.Millisecond
	store := &pipelinetest.MemStore{}
	h := newHarness(t, cfg, nil, store)
	p := pipeline.Partition{Stream: "events", ID: "0"}
	f, _ := h.rt.Assign(p, nil)
	b := batch(p, 0, 5, t0, 100*time.Millisecond, "x")
	b.More = true
	if err := f.Send(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // ten idle timeouts
	if n := len(store.Partials(t)); n != 0 {
		t.Fatalf("%d partials written while the partition was behind", n)
	}
	more := batch(p, 5, 5, t0.Add(500*time.Millisecond), 100*time.Millisecond, "x")
	if err := f.Send(context.Background(), more); err != nil {
		t.Fatal(err)
	}
	// Caught up now: quiet after the idle timeout, and the window closes on the wall clock.
	pipelinetest.WaitFor(t, func() bool { return pipelinetest.Summaries(t, store)[t0]["0"] == 10 })
	if err := h.rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := metrictest.Sum(t, h.reg, "weir_late_records_total", nil); n != 0 {
		t.Errorf("%v late records", n)
	}
}

func TestStageClockAddsUpToWallTime(t *testing.T) {
	c := pipeline.NewStageClock()
	c.Enter(pipeline.StageBusy)
	time.Sleep(30 * time.Millisecond)
	c.Enter(pipeline.StageBackpressured)
	time.Sleep(20 * time.Millisecond)
	c.Enter(pipeline.StageIdle)
	time.Sleep(10 * time.Millisecond)
	// Reading through the metrics path is covered by the lint test; here the invariant.
	busy, back, idle := c.Totals()
	total := busy + back + idle
	if busy < 30*time.Millisecond || back < 20*time.Millisecond || idle < 10*time.Millisecond {
		t.Errorf("busy %v backpressured %v idle %v", busy, back, idle)
	}
	if total < 60*time.Millisecond || total > 200*time.Millisecond {
		t.Errorf("states add up to %v over ~60ms", total)
	}
}

// Ticks before the first record (and a batch of nothing but bad records) must not move the
// watermark of a partition that is behind: the window arithmetic from "no watermark yet" once
// wrapped to the year 2262, and with a single credit the next window could never be written (a
// stall).
func TestRuntimeTicksBeforeFirstRecordCloseNothing(t *testing.T) {
	cfg := pipeline.DefaultWindowConfig()
	cfg.Period = time.Second
	cfg.AllowedLateness = 0
	cfg.IdleTimeout = 20 * time.Millisecond
	cfg.MaxPendingWindows = 1
	cfg.TimeField = "$.ts"
	store := &pipelinetest.MemStore{}
	h := newHarness(t, cfg, decode.NewPlan(decode.JSON), store)
	p := pipeline.Partition{Stream: "events", ID: "0"}
	f, _ := h.rt.Assign(p, nil)
	time.Sleep(300 * time.Millisecond) // many ticks, no records
	bad := batch(p, 0, 3, t0, time.Second, `{"ts":"never"}`)
	bad.More = true
	if err := f.Send(context.Background(), bad); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(store.Partials(t)); n != 0 {
		t.Fatalf("%d partials before the first usable record", n)
	}
	// Three windows in one batch: the first two close at once, through the single credit.
	good := pipeline.Batch{Partition: p, More: true}
	for i := range 3 {
		ts := t0.Add(time.Duration(i) * time.Second).Format(time.RFC3339)
		good.Records = append(good.Records, pipeline.Record{Partition: p, Position: pipeline.Position{Offset: int64(3 + i)},
			Value: []byte(`{"ts":"` + ts + `"}`)})
	}
	if err := f.Send(context.Background(), good); err != nil {
		t.Fatal(err)
	}
	pipelinetest.WaitFor(t, func() bool { c, ok := h.commits.Get(p); return ok && c >= 4 })
	if err := h.rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := pipelinetest.Summaries(t, store)
	for i := range 2 {
		if n := got[t0.Add(time.Duration(i)*time.Second)]["0"]; n != 1 {
			t.Errorf("window %d counted %d, want 1", i, n)
		}
	}
	// The bad records came before any window: the first partial counts them.
	if d := store.Partials(t)[pipelinetest.Key{Start: t0, Partition: p}].Dropped; d["event_time"] != 3 {
		t.Errorf("the first partial's dropped %v, want the 3 bad records", d)
	}
	if n := metrictest.Sum(t, h.reg, "weir_late_records_total", nil); n != 0 {
		t.Errorf("%v records late", n)
	}
}
