package pipeline_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/vmihailenco/msgpack/v5"

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
	// The records' broker time is t0 while their stamps run up to 31 s past it: a fixture, not a
	// clock ahead (ahead.go), so their stamps are their event times.
	cfg.MaxAhead = time.Minute
	store := &pipelinetest.MemStore{}
	h := newHarness(t, cfg, decode.NewPlan(decode.JSON), store)
	p := pipeline.Partition{Stream: "events", ID: "0"}
	f, _ := h.rt.Assign(p, nil)
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
	late := pipeline.Batch{Partition: p, Records: []pipeline.Record{rec(4, `{"ts":"2026-11-21T13:00:02Z"}`), rec(5, `{"ts":"2026-11-21T13:00:26Z"}`),
		rec(6, `{"ts":"2026-11-21T13:00:31Z"}`)}} // closes [20s,30s)
	if err := f.Send(ctx, late); err != nil {
		t.Fatal(err)
	}
	pipelinetest.WaitFor(t, func() bool { c, _ := h.commits.Get(p); return c == 5 })
	if err := h.rt.Close(ctx); err != nil {
		t.Fatal(err)
	}
	letters := store.DeadLetters()
	reasons := map[int64]string{}
	for _, l := range letters {
		reasons[l.Position.Offset] = l.Reason
	}
	want := map[int64]string{1: "decode", 2: "event_time", 4: "late"}
	for off, r := range want {
		if reasons[off] != r {
			t.Errorf("offset %d: dead-letter reason %q, want %q (all: %v)", off, reasons[off], r, reasons)
		}
	}
	if len(letters) != 3 {
		t.Errorf("%d dead letters, want 3", len(letters))
	}
	got := pipelinetest.Summaries(t, store)
	if got[t0]["0"] != 1 || got[t0.Add(20*time.Second)]["0"] != 2 {
		t.Errorf("counts %v: want 1 in [0,10s) and 2 in [20s,30s)", got)
	}
	// The dead letters counted where they were read: 1 and 2 in [0,10s), the late 4 in
	// [20s,30s), the oldest window open when it came.
	pts := store.Partials(t)
	if d := pts[pipelinetest.Key{Start: t0, Partition: p}].Dropped; d["decode"] != 1 || d["event_time"] != 1 || len(d) != 2 {
		t.Errorf("[0,10s) dropped %v", d)
	}
	if d := pts[pipelinetest.Key{Start: t0.Add(20 * time.Second), Partition: p}].Dropped; d["late"] != 1 || len(d) != 1 {
		t.Errorf("[20s,30s) dropped %v", d)
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
	h := newHarness(t, pipeline.DefaultWindowConfig(), nil, &pipelinetest.MemStore{})
	defer h.rt.Close(context.Background())
	if _, err := h.rt.Assign(pipeline.Partition{Stream: "events", ID: "0"}, nil); err != nil {
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

// A Revoke still in flight when Close runs (a rebalance racing the shutdown): the revoked
// runner, blocked on its store with a bad record queued behind it, must neither panic on the
// dead-letter queue Close shuts nor let anything be committed past a letter that was never
// written. Close once closed the queue without waiting for runners an in-flight Revoke had
// already taken out of its map; one such runner drained its queue, dead-lettered the bad record
// and sent on the closed channel (issue 20).
func TestRuntimeRevokeRacingCloseNoPanicNoCommitPastLetters(t *testing.T) {
	cfg := pipeline.DefaultWindowConfig()
	cfg.Period = time.Second
	cfg.AllowedLateness = 0
	cfg.MaxPendingWindows = 1
	cfg.TimeField = "$.ts"
	store := &pipelinetest.MemStore{Gate: make(chan struct{})} // partials and dead letters never written
	h := newHarness(t, cfg, decode.NewPlan(decode.JSON), store)
	p := pipeline.Partition{Stream: "events", ID: "0"}
	f, _ := h.rt.Assign(p, nil)
	ctx := context.Background()
	bad := func(off int64) pipeline.Record {
		return pipeline.Record{Partition: p, Position: pipeline.Position{Offset: off}, Value: []byte(`{"ts":`)}
	}
	// A bad record first, then three windows: the first partial takes the only credit and
	// never becomes durable, and the runner blocks handing the second over.
	first := pipeline.Batch{Partition: p, Records: []pipeline.Record{bad(0), stamped(p, 1, t0),
		stamped(p, 2, t0.Add(time.Second)), stamped(p, 3, t0.Add(2*time.Second))}}
	if err := f.Send(ctx, first); err != nil {
		t.Fatal(err)
	}
	pipelinetest.WaitFor(t, func() bool { return h.rt.Stats().Records == 4 })
	// Queued behind the blocked runner: more bad records.
	if !f.TrySend(pipeline.Batch{Partition: p, Records: []pipeline.Record{bad(4), bad(5)}}) {
		// The feed holds batches back from a blocked runner; queue it the way a source's
		// blocking Send does once it is let through, in the background.
		go func() { _ = f.Send(ctx, pipeline.Batch{Partition: p, Records: []pipeline.Record{bad(4), bad(5)}}) }()
	}
	revoked := make(chan struct{})
	go func() {
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		h.rt.Revoke(rctx, p)
		close(revoked)
	}()
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_ = h.rt.Close(cctx) // the deadline passes: partials and letters unwritten
	select {
	case <-revoked:
	case <-time.After(10 * time.Second):
		t.Fatal("Revoke did not return after Close")
	}
	if c, ok := h.commits.Checkpoint(p); ok {
		t.Errorf("committed %v past dead letters and partials that were never written", c)
	}
	if n := len(store.DeadLetters()) + len(store.Partials(t)); n != 0 {
		t.Errorf("%d letters and partials written through a closed gate", n)
	}
}

// A Revoke waits for the partition's dead letters as it waits for its partials: the commit
// point it leaves behind passes a bad record at the end of what was read. With the dead-letter
// writer's default linger (a second) the revoke used to return first, the letter still
// pending, and the commit point stayed before it. On a Kinesis shard read to its end (the
// parent of a split) that made the shard's end never durable: every owner re-read the tail,
// dead-lettered the record again, revoked, found it pending and gave the shard back, and the
// shard's children were never read (a chaos trial: the parent changed hands 100 times in two
// minutes, its children's records were lost to the trial's end).
func TestRevokeWaitsForTheLastDeadLetters(t *testing.T) {
	cfg := pipeline.DefaultWindowConfig()
	cfg.Period = time.Second
	cfg.AllowedLateness = 0
	cfg.TimeField = "$.ts"
	store := &pipelinetest.MemStore{}
	h := newHarnessLinger(t, time.Second, cfg, decode.NewPlan(decode.JSON), store)
	p := pipeline.Partition{Stream: "events", ID: "0"}
	f, _ := h.rt.Assign(p, nil)
	ctx := context.Background()
	tail := pipeline.Batch{Partition: p, Records: []pipeline.Record{stamped(p, 0, t0),
		{Partition: p, Position: pipeline.Position{Offset: 1}, Value: []byte(`{"ts":`)}}}
	if err := f.Send(ctx, tail); err != nil {
		t.Fatal(err)
	}
	// The shard's end, as the Kinesis source sends it: every window closes.
	ended := make(chan struct{})
	if err := f.Send(ctx, pipeline.Batch{Partition: p, End: true, Done: func() { close(ended) }}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the end was not read")
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	h.rt.Revoke(rctx, p)
	cancel()
	if c, ok := h.commits.Get(p); !ok || c != 1 {
		t.Errorf("after the revoke committed %d (%v), want 1: everything read was durable", c, ok)
	}
	if n := len(store.DeadLetters()); n != 1 {
		t.Errorf("%d dead letters written, want 1", n)
	}
	if n := metrictest.Sum(t, h.reg, "weir_late_acks_total", nil); n != 0 {
		t.Errorf("%v acknowledgements after the revoke, want 0", n)
	}
	if err := h.rt.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// unencodableOp is an operator whose states cannot be encoded: a bug in an operator's codec.
type unencodableOp struct{}

func (unencodableOp) Name() string                               { return "unencodable" }
func (unencodableOp) NewState(pipeline.Partition) pipeline.State { return &unencodableState{} }

type unencodableState struct{}

func (*unencodableState) Observe(*pipeline.Record, []decode.Value) {}
func (*unencodableState) Merge(pipeline.State) error               { return nil }
func (*unencodableState) Emit(pipeline.Window, *pipeline.Output)   {}
func (*unencodableState) EncodeMsgpack(*msgpack.Encoder) error {
	return errors.New("injected: cannot encode")
}
func (*unencodableState) DecodeMsgpack(*msgpack.Decoder) error { return nil }

// A partial that cannot be encoded is never written and never committed past: the writer
// retries it (counted as a failed write, so readiness and the sink alarm see it), the
// partition's commit point stays before the window's first record, and a stop abandons it, so
// its records are read again by the partition's next owner (issue 20: once, a failed state
// merge capped the commit point; now a partial is the unit).
func TestPartialThatCannotBeEncodedIsNeverCommitted(t *testing.T) {
	cfg := pipeline.DefaultWindowConfig()
	cfg.Period = time.Second
	cfg.AllowedLateness = 0
	cfg.TimeField = "$.ts"
	store := &pipelinetest.MemStore{}
	h := newHarness(t, cfg, decode.NewPlan(decode.JSON), store, func(o *pipeline.Options) {
		o.Operators = append(o.Operators, unencodableOp{})
	})
	p := pipeline.Partition{Stream: "events", ID: "0"}
	f, _ := h.rt.Assign(p, nil)
	ctx := context.Background()
	b := pipeline.Batch{Partition: p, Records: []pipeline.Record{stamped(p, 0, t0), stamped(p, 1, t0.Add(time.Second)),
		stamped(p, 2, t0.Add(2*time.Second))}} // closes [0,1s) and [1s,2s)
	if err := f.Send(ctx, b); err != nil {
		t.Fatal(err)
	}
	pipelinetest.WaitFor(t, func() bool { return h.rt.Stats().SinkErrors >= 3 })
	if c, ok := h.commits.Checkpoint(p); ok {
		t.Errorf("committed %v past a partial that could not be encoded", c)
	}
	if failing := h.rt.FailingSinks(); len(failing) != 1 || failing[0].Sink != "partials" {
		t.Errorf("failing sinks %+v, want the partials", failing)
	}
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := h.rt.Close(cctx); err == nil {
		t.Error("Close returned nil with a partial never written")
	}
	if c, ok := h.commits.Checkpoint(p); ok {
		t.Errorf("committed %v after the stop", c)
	}
	if n := len(store.Partials(t)); n != 0 {
		t.Errorf("%d partials written", n)
	}
}
