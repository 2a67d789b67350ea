package pipeline_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/pipeline/pipelinetest"
	"github.com/weirstream/weir/pipeline/throughput"
)

type harness struct {
	rt      *pipeline.Runtime
	store   *pipelinetest.MemStore
	commits *pipelinetest.Commits
	reg     *prometheus.Registry
	budget  *pipeline.Budget
}

// newHarness starts a runtime with the throughput operator, store as its partial store and
// dead-letter sink, and opts applied to its options last.
func newHarness(t *testing.T, cfg pipeline.WindowConfig, plan *decode.Plan, store *pipelinetest.MemStore, opts ...func(*pipeline.Options)) *harness {
	t.Helper()
	return newHarnessLinger(t, time.Millisecond, cfg, plan, store, opts...) // commit points behind dead letters come at once
}

// newHarnessLinger is newHarness with the dead-letter writer's linger set to linger
// (pipeline's default is a second).
func newHarnessLinger(t *testing.T, linger time.Duration, cfg pipeline.WindowConfig, plan *decode.Plan, store *pipelinetest.MemStore, opts ...func(*pipeline.Options)) *harness {
	t.Helper()
	reg := prometheus.NewRegistry()
	h := &harness{store: store, commits: pipelinetest.NewCommits(t), reg: reg,
		budget: pipeline.NewBudget(1 << 20)}
	if plan == nil {
		plan = decode.NewPlan(decode.JSON)
	}
	o := pipeline.Options{
		Window:      cfg,
		Plan:        plan,
		Operators:   []pipeline.Operator{throughput.New()},
		Partials:    store,
		DeadLetters: store,
		Committer:   h.commits,
		Budget:      h.budget,
		Metrics:     pipeline.NewMetrics(reg),
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, f := range opts {
		f(&o)
	}
	rt, err := pipeline.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if o.Clock != nil {
		pipeline.SetTickEvery(rt, 2*time.Millisecond) // the clock moves in jumps: look often
	}
	pipeline.SetDeadLetterLinger(rt, linger)
	rt.Start()
	h.rt = rt
	return h
}

var t0 = time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC)

// batch makes records at offsets from..from+n-1 whose times step by every, starting at start.
func batch(p pipeline.Partition, from int64, n int, start time.Time, every time.Duration, value string) pipeline.Batch {
	b := pipeline.Batch{Partition: p}
	for i := range n {
		b.Records = append(b.Records, pipeline.Record{
			Partition: p,
			Position:  pipeline.Position{Offset: from + int64(i)},
			Value:     []byte(value),
			Time:      start.Add(time.Duration(i) * every),
		})
	}
	return b
}

func TestRuntimeCountsPerWindowAndCommitsAfterDurable(t *testing.T) {
	cfg := pipeline.DefaultWindowConfig()
	cfg.Period = 10 * time.Second
	cfg.AllowedLateness = 0
	h := newHarness(t, cfg, nil, &pipelinetest.MemStore{})
	p0 := pipeline.Partition{Stream: "events", ID: "0"}
	p1 := pipeline.Partition{Stream: "events", ID: "1"}
	f0, _ := h.rt.Assign(p0, nil)
	f1, _ := h.rt.Assign(p1, nil)
	ctx := context.Background()
	// 30 records a second apart per partition: windows [0,10) [10,20) [20,30) get 10 each.
	for i := 0; i < 30; i += 5 {
		if err := f0.Send(ctx, batch(p0, int64(i), 5, t0.Add(time.Duration(i)*time.Second), time.Second, "abc")); err != nil {
			t.Fatal(err)
		}
		if err := f1.Send(ctx, batch(p1, int64(100+i), 5, t0.Add(time.Duration(i)*time.Second), time.Second, "abcdef")); err != nil {
			t.Fatal(err)
		}
	}
	// The first two windows close on the watermark; wait until they are durable and committed,
	// in both partitions (each has its own runner: one may be behind the other).
	pipelinetest.WaitFor(t, func() bool {
		c0, ok0 := h.commits.Get(p0)
		c1, ok1 := h.commits.Get(p1)
		return ok0 && c0 >= 19 && ok1 && c1 >= 119
	})
	if c, _ := h.commits.Get(p0); c != 19 {
		t.Errorf("p0 committed %d with window [20s,30s) open; want 19 (last record of the durable windows)", c)
	}
	// The commit point is just before the open window's first record, with the closedThrough
	// when it was read (the watermark was 19 s: [10 s, 20 s) was still open) and that window,
	// durable now, as a straddler: a replay from here must not write it again (empty).
	cp, _ := h.commits.Checkpoint(p0)
	want := pipeline.Checkpoint{Position: pipeline.Position{Offset: 19}, State: pipeline.CheckpointState{
		Period: cfg.Period, ClosedThrough: t0.Add(10 * time.Second).UnixNano(),
		Straddlers: []pipeline.Straddler{{Start: t0.Add(10 * time.Second).UnixNano(), Last: pipeline.Position{Offset: 19}}}}}
	if cp.String() != want.String() {
		t.Errorf("p0's checkpoint\n %v, want\n %v", cp, want)
	}
	if err := h.rt.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got := pipelinetest.Summaries(t, h.store)
	for w := 0; w < 2; w++ {
		ws := t0.Add(time.Duration(w*10) * time.Second)
		if got[ws]["0"] != 10 || got[ws]["1"] != 10 {
			t.Errorf("window %v: counts %v, want 10 per partition", ws, got[ws])
		}
	}
	// The window still open at Close is not written: its records are read again by whoever
	// owns the partition next, which writes it whole. The commit point stays before it.
	if got := got[t0.Add(20*time.Second)]; len(got) != 0 {
		t.Errorf("the open window was written at Close: %v", got)
	}
	if c, _ := h.commits.Get(p0); c != 19 {
		t.Errorf("after Close p0 committed %d, want 19", c)
	}
	size := map[string]int64{"0": 3, "1": 6}
	for k, pt := range h.store.Partials(t) {
		if pt.Bytes != 10*size[k.Partition.ID] || pt.First.Offset+9 != pt.Last.Offset || pt.End-pt.Start != int64(cfg.Period) {
			t.Errorf("partial %v %v: %+v", k.Start, k.Partition, pt)
		}
	}
}
