package pipeline_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/pipeline/pipelinetest"
)

// A partial store that does not return stops the partition after MaxPendingWindows windows: the
// runner stops taking batches, the feed refuses more, nothing is committed, and everything
// resumes when the store does.
func TestRuntimeBlockedSinkStopsIntakeAndRecovers(t *testing.T) {
	_, store, h, p, f := blockedStore(t, 2)

	// One batch per second of event time; keep offering until the feed refuses.
	sent := 0
	refused := false
	for i := 0; i < 200 && !refused; i++ {
		b := batch(p, int64(i*10), 10, t0.Add(time.Duration(i)*time.Second), 100*time.Millisecond, "x")
		deadline := time.Now().Add(500 * time.Millisecond)
		for !f.TrySend(b) {
			if time.Now().After(deadline) {
				refused = true
				break
			}
			time.Sleep(time.Millisecond)
		}
		if !refused {
			sent++
		}
	}
	if !refused {
		t.Fatal("the feed accepted 200 windows with a blocked store")
	}
	// 2 credits + the runner's queue: a handful of windows, not hundreds.
	if sent > 20 {
		t.Errorf("accepted %d one-second batches before refusing; backpressure is too loose", sent)
	}
	if _, ok := h.commits.Get(p); ok {
		t.Error("committed while the store had made nothing durable")
	}
	close(store.Gate) // the store recovers
	b := batch(p, int64(sent*10), 10, t0.Add(time.Duration(sent)*time.Second), 100*time.Millisecond, "x")
	if err := f.Send(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	pipelinetest.WaitFor(t, func() bool { c, ok := h.commits.Get(p); return ok && c >= int64(sent*10-1) })
	if err := h.rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	total := int64(0)
	for _, w := range pipelinetest.Summaries(t, store) {
		total += w["0"]
	}
	// Every window but the last, which was still open at Close.
	if want := int64(sent * 10); total != want {
		t.Errorf("counted %d records, want %d", total, want)
	}
}

// Failed writes are retried; nothing is committed until the write succeeds.
func TestRuntimeRetriesFailedPartialWrites(t *testing.T) {
	cfg := pipeline.DefaultWindowConfig()
	cfg.Period = time.Second
	cfg.AllowedLateness = 0
	store := &pipelinetest.MemStore{Fail: 2}
	h := newHarness(t, cfg, nil, store)
	p := pipeline.Partition{Stream: "events", ID: "0"}
	f, _ := h.rt.Assign(p, nil)
	ctx := context.Background()
	_ = f.Send(ctx, batch(p, 0, 10, t0, 100*time.Millisecond, "x"))
	_ = f.Send(ctx, batch(p, 10, 1, t0.Add(time.Second), 0, "x")) // closes [0,1s)
	pipelinetest.WaitFor(t, func() bool { c, ok := h.commits.Get(p); return ok && c == 9 })
	if n := metrictest.Sum(t, h.reg, "weir_sink_write_errors_total", nil); n != 2 {
		t.Errorf("weir_sink_write_errors_total = %v, want 2", n)
	}
	if err := h.rt.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := pipelinetest.Summaries(t, store)[t0]["0"]; got != 10 {
		t.Errorf("window [0,1s) counted %d, want 10", got)
	}
}

// After Revoke returns, an acknowledgement for the revoked partition commits nothing: the
// data-loss bug of a batch acked after revoke committing for a partition no longer owned. A
// partial not durable by the revoke deadline is abandoned; dead letters written after it are
// late acks.
func TestRuntimeAckAfterRevokeCommitsNothing(t *testing.T) {
	cfg := pipeline.DefaultWindowConfig()
	cfg.Period = time.Second
	cfg.AllowedLateness = 0
	cfg.TimeField = "$.ts"
	store := &pipelinetest.MemStore{Gate: make(chan struct{})}
	h := newHarness(t, cfg, decode.NewPlan(decode.JSON), store)
	p := pipeline.Partition{Stream: "events", ID: "0"}
	f, _ := h.rt.Assign(p, nil)
	ctx := context.Background()
	b := pipeline.Batch{Partition: p, Records: []pipeline.Record{
		stamped(p, 0, t0), {Partition: p, Position: pipeline.Position{Offset: 1}, Value: []byte(`{"ts":`)},
		stamped(p, 2, t0.Add(time.Second)), // closes [0,1s)
	}}
	_ = f.Send(ctx, b)
	pipelinetest.WaitFor(t, func() bool { return metrictest.Sum(t, h.reg, "weir_records_processed_total", nil) == 3 })

	// The store is stuck: revoke with a short deadline gives up waiting.
	rctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	h.rt.Revoke(rctx, p)
	cancel()
	if c, ok := h.commits.Get(p); ok {
		t.Fatalf("committed %d for a partition whose windows are not durable", c)
	}
	close(store.Gate) // the dead letters are written after the revoke
	pipelinetest.WaitFor(t, func() bool { return metrictest.Sum(t, h.reg, "weir_late_acks_total", nil) >= 1 })
	if c, ok := h.commits.Get(p); ok {
		t.Errorf("committed %d after revoke", c)
	}
	if err := h.rt.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(store.Partials(t)); n != 0 {
		t.Errorf("%d partials written after the revoke abandoned them", n)
	}
}

// Revoke with a healthy store waits for the closed windows' partials, commits everything
// before the open window, and abandons the open window: it is not written (whoever reads the
// partition next writes it whole), and the commit point stays before its first record.
func TestRuntimeRevokeCommitsDurableAndAbandonsOpen(t *testing.T) {
	cfg := pipeline.DefaultWindowConfig()
	cfg.Period = time.Minute
	cfg.AllowedLateness = 0
	store := &pipelinetest.MemStore{}
	h := newHarness(t, cfg, nil, store)
	p := pipeline.Partition{Stream: "events", ID: "0"}
	f, _ := h.rt.Assign(p, nil)
	ctx := context.Background()
	_ = f.Send(ctx, batch(p, 0, 10, t0, time.Millisecond, "x"))
	_ = f.Send(ctx, batch(p, 10, 5, t0.Add(time.Minute), time.Millisecond, "x")) // closes the first
	// Revoke releases batches still queued unprocessed (the next owner reads them); wait until
	// these are in windows.
	pipelinetest.WaitFor(t, func() bool { return metrictest.Sum(t, h.reg, "weir_records_processed_total", nil) == 15 })
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	h.rt.Revoke(rctx, p)
	if c, ok := h.commits.Get(p); !ok || c != 9 {
		t.Errorf("after revoke committed %d (%v), want 9", c, ok)
	}
	got := pipelinetest.Summaries(t, store)
	if got[t0]["0"] != 10 || len(got) != 1 {
		t.Errorf("partials %v, want the closed window's 10 records only", got)
	}
	if err := h.rt.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// While the runner is blocked on its sinks, the feed queues nothing more, however much room its
// queue has: batches that only wait would fill the budget during every sink stall. Progress
// signals (empty batches) still pass, a blocking Send waits, and everything flows again when
// the sink returns.
func TestRuntimeBlockedRunnerQueuesNothing(t *testing.T) {
	_, store, h, p, f := blockedStore(t, 1) // QueueLen: the default, 4

	w := &windowFeeder{f: f, p: p}
	w.untilBlocked(t)
	accepted, done, mk := &w.accepted, &w.done, w.mk
	b := mk()
	for range 20 {
		if f.TrySend(b) {
			accepted.Add(1)
			b = mk()
		}
	}
	if waiting := accepted.Load() - done.Load(); waiting != 1 {
		t.Errorf("%d batches accepted and not processed behind a blocked sink, want 1 (the one it is blocked in; the queue holds 4)", waiting)
	}
	if !f.TrySend(pipeline.Batch{Partition: p, More: true}) {
		t.Error("a progress signal (empty batch) was refused while the runner is blocked")
	}
	sent := make(chan error, 1)
	go func() { sent <- f.Send(context.Background(), b) }()
	select {
	case err := <-sent:
		t.Fatalf("Send returned (%v) while the runner is blocked", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(store.Gate)
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	accepted.Add(1)
	pipelinetest.WaitFor(t, func() bool { return done.Load() == accepted.Load() })
	if err := h.rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, w := range pipelinetest.Summaries(t, store) {
		total += w["0"]
	}
	// Every window but the last, still open at Close.
	if want := (accepted.Load() - 1) * 10; total != want {
		t.Errorf("counted %d records, want %d", total, want)
	}
}

// gateOp holds its runner in the first record it observes until release is closed: a runner
// that is busy, not blocked on its sinks.
type gateOp struct {
	entered, release chan struct{}
	once             sync.Once
}

func newGateOp() *gateOp {
	return &gateOp{entered: make(chan struct{}), release: make(chan struct{})}
}

func (g *gateOp) Name() string                               { return "gate" }
func (g *gateOp) NewState(pipeline.Partition) pipeline.State { return &gateState{g: g} }

type gateState struct {
	noopState
	g *gateOp
}

func (s *gateState) Observe(*pipeline.Record, []decode.Value) {
	s.g.once.Do(func() { close(s.g.entered) })
	<-s.g.release
}

func (s *gateState) Merge(pipeline.State) error { return nil }

// SendWhileBusy waits for room while the runner works through a full queue, gives up after its
// wait while the runner stays busy, and gives up at once when the runner blocks on its sinks
// (then waiting would only hold the poll loop while the sinks are stuck).
func TestFeedSendWhileBusy(t *testing.T) {
	cfg := pipeline.DefaultWindowConfig()
	cfg.Period = time.Second
	cfg.AllowedLateness = 0
	cfg.MaxPendingWindows = 1
	gate := newGateOp()
	store := &pipelinetest.MemStore{Gate: make(chan struct{})}
	rt, err := pipeline.New(pipeline.Options{
		Window: cfg, Plan: decode.NewPlan(decode.JSON), Operators: []pipeline.Operator{gate},
		Partials: store, DeadLetters: store, Committer: pipelinetest.Discard{},
		Budget: pipeline.NewBudget(1 << 20), Metrics: pipeline.NewMetrics(prometheus.NewRegistry()),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), QueueLen: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	rt.Start()
	p := pipeline.Partition{Stream: "events", ID: "0"}
	f, _ := rt.Assign(p, nil)
	ctx := context.Background()

	// The first batch spans three one-second windows: once released, the runner closes the
	// first (taking the only credit) and blocks handing the second over, in the same batch.
	if !f.TrySend(batch(p, 0, 30, t0, 100*time.Millisecond, "x")) {
		t.Fatal("an idle runner refused a batch")
	}
	<-gate.entered
	for i := range 2 { // fill the queue (QueueLen 2) behind the busy runner
		if !f.TrySend(batch(p, int64(30+i), 1, t0.Add(3*time.Second), 0, "x")) {
			t.Fatalf("queue refused batch %d of 2 with room", i+1)
		}
	}
	next := batch(p, 32, 1, t0.Add(3*time.Second), 0, "x")
	if f.TrySend(next) {
		t.Fatal("TrySend queued a batch beyond QueueLen")
	}

	// Busy and full: the wait runs out.
	start := time.Now()
	if f.SendWhileBusy(ctx, next, 50*time.Millisecond) {
		t.Fatal("SendWhileBusy queued a batch while the runner held the queue full")
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("SendWhileBusy gave up after %v with the runner busy, want the whole 50ms", d)
	}

	// Still busy, then blocked: release the runner and a long wait ends when it blocks on the
	// stalled sink, not after the minute. Room cannot open first: the runner is still in the
	// first batch when it blocks.
	got := make(chan bool, 1)
	start = time.Now()
	go func() { got <- f.SendWhileBusy(ctx, next, time.Minute) }()
	time.Sleep(20 * time.Millisecond)
	close(gate.release)
	select {
	case ok := <-got:
		if ok {
			t.Fatal("SendWhileBusy queued a batch into a full queue behind a blocked runner")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("SendWhileBusy kept waiting after the runner blocked on its sink")
	}
	t.Logf("gave up %v after the runner was released", time.Since(start)-20*time.Millisecond)
	if f.SendWhileBusy(ctx, next, time.Minute) {
		t.Fatal("SendWhileBusy queued a batch behind a blocked runner")
	}

	// The store returns: once the runner is no longer blocked, a send waits for room and gets it.
	close(store.Gate)
	pipelinetest.WaitFor(t, func() bool { return f.SendWhileBusy(ctx, next, time.Minute) })
	if err := rt.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// Behind a blocked store a partition keeps up to MaxPendingWindows closed windows. Each waits
// as its encoded partial, not as its operators' states (Space-Saving counters, HLL registers,
// hash indexes: about twice the partial's size, and live heap the collector doubles into
// its goal for as long as the stall lasts). Every closed window reaches the store once it
// returns.
func TestBlockedStoreHoldsClosedWindowsEncoded(t *testing.T) {
	cfg, store, h, p, f := blockedStore(t, 4)

	// One batch per window, each once the previous one is processed, until the partition has
	// MaxPendingWindows partials pending: one in the write the store blocks, the others in the
	// writer's queue, and the runner can hand over no more.
	w := &windowFeeder{f: f, p: p}
	full := func() bool {
		return metrictest.Sum(t, h.reg, "weir_pending_partials", nil) == float64(cfg.MaxPendingWindows)
	}
	for !full() {
		if !f.TrySend(w.mk()) {
			t.Fatal("the feed refused a batch before the partition had its pending windows")
		}
		w.accepted.Add(1)
		pipelinetest.WaitFor(t, func() bool { return w.done.Load() == w.accepted.Load() || full() })
	}
	withStates, encoded := pipeline.QueuedPartials(h.rt, p)
	if withStates != 0 || encoded != cfg.MaxPendingWindows-1 {
		t.Errorf("behind the blocked store: %d windows waiting with their states, %d encoded; want 0 and %d",
			withStates, encoded, cfg.MaxPendingWindows-1)
	}
	close(store.Gate)
	pipelinetest.WaitFor(t, func() bool { return w.done.Load() == w.accepted.Load() })
	if err := h.rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := store.Partials(t)
	var records int64
	for _, pt := range got {
		records += pt.Records
	}
	// Close leaves the last window, still open, to the partition's next owner.
	if want := int64(10 * (w.next - 1)); records != want {
		t.Errorf("the store got partials of %d records in all, want %d (every closed window's)", records, want)
	}
}

// windowFeeder sends a partition one batch per one-second window (10 records each) and counts
// what the runner accepted and finished.
type windowFeeder struct {
	f              *pipeline.Feed
	p              pipeline.Partition
	next           int
	accepted, done atomic.Int64
}

func (w *windowFeeder) mk() pipeline.Batch {
	b := batch(w.p, int64(w.next*10), 10, t0.Add(time.Duration(w.next)*time.Second), 100*time.Millisecond, "x")
	b.Done = func() { w.done.Add(1) }
	w.next++
	return b
}

// untilBlocked sends batches, each once the previous one is processed, until one is not
// processed within 200 ms: the runner is blocked in it, waiting for a credit (its store holds
// max_pending_windows partials).
func (w *windowFeeder) untilBlocked(t *testing.T) {
	t.Helper()
	for blocked := false; !blocked; {
		if !w.f.TrySend(w.mk()) {
			t.Fatal("the feed refused a batch while the runner was idle")
		}
		w.accepted.Add(1)
		deadline := time.Now().Add(200 * time.Millisecond)
		for w.done.Load() < w.accepted.Load() && !blocked {
			blocked = time.Now().After(deadline)
			time.Sleep(time.Millisecond)
		}
		if w.accepted.Load() > 50 {
			t.Fatal("50 windows went through with a blocked store")
		}
	}
}

// blockedStore is a runtime with one-second windows, no allowed lateness and maxPending
// pending windows a partition, whose partial store blocks every write until its Gate is
// closed, and a partition assigned to it.
func blockedStore(t *testing.T, maxPending int) (pipeline.WindowConfig, *pipelinetest.MemStore, *harness, pipeline.Partition, *pipeline.Feed) {
	t.Helper()
	cfg := pipeline.DefaultWindowConfig()
	cfg.Period = time.Second
	cfg.AllowedLateness = 0
	cfg.MaxPendingWindows = maxPending
	store := &pipelinetest.MemStore{Gate: make(chan struct{})}
	h := newHarness(t, cfg, nil, store)
	p := pipeline.Partition{Stream: "events", ID: "0"}
	f, _ := h.rt.Assign(p, nil)
	return cfg, store, h, p, f
}

// Once a partition's store is a window behind (a window waits behind another not yet durable),
// its feed queues at most one batch: when the runner then blocks on the pending windows, it
// holds the batch it is blocked in and one more, not its whole queue. Batches that only wait
// hold their bytes of the budget for as long as the store stalls, and the collections during
// the stall count them live, so the catch-up's heap goal is paced from them.
func TestBlockedStoreHoldsOneQueuedBatch(t *testing.T) {
	cfg, store, h, p, f := blockedStore(t, 4) // QueueLen: the default, 4

	// 500 records a batch, two batches a one-second window, offered as a source with a backlog
	// does: the next as soon as the queue has room, until the runner stops finishing them.
	var accepted, done atomic.Int64
	next := 0
	mk := func() pipeline.Batch {
		b := batch(p, int64(next*500), 500, t0.Add(time.Duration(next)*500*time.Millisecond), time.Millisecond, "x")
		b.Done = func() { done.Add(1) }
		next++
		return b
	}
	b := mk()
	last, since := int64(-1), time.Now()
	for {
		if f.TrySend(b) {
			accepted.Add(1)
			b = mk()
			continue
		}
		if d := done.Load(); d != last {
			last, since = d, time.Now()
		} else if time.Since(since) > 300*time.Millisecond {
			break // the runner is blocked: nothing finished for 300 ms
		}
		if accepted.Load() > 200 {
			t.Fatal("200 batches went through with a blocked store")
		}
		time.Sleep(50 * time.Microsecond)
	}
	if pending := metrictest.Sum(t, h.reg, "weir_pending_partials", nil); pending != float64(cfg.MaxPendingWindows) {
		t.Fatalf("the runner stopped with %v partials pending, want %d (blocked on the store)", pending, cfg.MaxPendingWindows)
	}
	if held := accepted.Load() - done.Load(); held > 2 {
		t.Errorf("a partition blocked on its store holds %d batches, want at most 2 (the one it is blocked in and one queued; its queue holds 4)", held)
	}
	close(store.Gate)
	pipelinetest.WaitFor(t, func() bool {
		if f.TrySend(b) {
			accepted.Add(1)
			b = mk()
		}
		return done.Load() == accepted.Load()
	})
	if err := h.rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, w := range pipelinetest.Summaries(t, store) {
		total += w["0"]
	}
	// Every window but the last, still open at Close (the batches accepted fill whole windows
	// two at a time; an odd count leaves half a window open).
	if want := (accepted.Load() - accepted.Load()%2) * 500; total != want && total != want-1000 {
		t.Errorf("counted %d records, want %d", total, want)
	}
}
