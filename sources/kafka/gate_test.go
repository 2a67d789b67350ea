package kafka

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/pipeline/pipelinetest"
)

// stuckOp's states block in Observe until release is closed, telling observing the first time:
// a runner that is busy, its queue filling behind it.
type stuckOp struct{ observing, release chan struct{} }

func (stuckOp) Name() string                                 { return "stuck" }
func (o stuckOp) NewState(pipeline.Partition) pipeline.State { return &stuckState{o} }

type stuckState struct{ op stuckOp }

func (s *stuckState) Observe(*pipeline.Record, []decode.Value) {
	select {
	case s.op.observing <- struct{}{}:
	default:
	}
	<-s.op.release
}
func (s *stuckState) Merge(pipeline.State) error             { return nil }
func (s *stuckState) Emit(pipeline.Window, *pipeline.Output) {}
func (s *stuckState) EncodeMsgpack(*msgpack.Encoder) error   { return nil }
func (s *stuckState) DecodeMsgpack(*msgpack.Decoder) error   { return nil }

// gateFixture is a gate in front of a runner with a queue of one that its operator keeps busy
// until release is closed.
type gateFixture struct {
	g    *gate
	m    *metrics
	cl   *kgo.Client
	op   stuckOp
	p    pipeline.Partition
	done atomic.Int64 // batches the runner finished
	next int64
}

func newGateFixture(t *testing.T) *gateFixture {
	t.Helper()
	reg := prometheus.NewRegistry()
	f := &gateFixture{m: newMetrics(reg), op: stuckOp{observing: make(chan struct{}, 1), release: make(chan struct{})},
		p: pipeline.Partition{Stream: "events", ID: "0"}}
	rt, err := pipeline.New(pipeline.Options{Window: pipeline.DefaultWindowConfig(), Plan: decode.NewPlan(decode.JSON),
		Operators: []pipeline.Operator{f.op}, Partials: pipelinetest.Discard{}, DeadLetters: pipelinetest.Discard{},
		Committer: pipelinetest.Discard{}, Budget: pipeline.NewBudget(1 << 20), Metrics: pipeline.NewMetrics(reg),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), QueueLen: 1})
	if err != nil {
		t.Fatal(err)
	}
	rt.Start()
	feed, err := rt.Assign(f.p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.cl, err = kgo.NewClient(kgo.SeedBrokers("127.0.0.1:1")); err != nil { // pause bookkeeping only
		t.Fatal(err)
	}
	f.g = newGate(tp{"events", 0}, feed, f.cl, f.m)
	t.Cleanup(func() {
		select {
		case <-f.op.release:
		default:
			close(f.op.release)
		}
		_ = rt.Close(context.Background())
		f.cl.Close()
	})
	return f
}

func (f *gateFixture) batch() pipeline.Batch {
	f.next++
	return pipeline.Batch{Partition: f.p, Records: []pipeline.Record{{Partition: f.p,
		Position: pipeline.Position{Offset: f.next}, Value: []byte(`{}`), Time: time.Now()}},
		Done: func() { f.done.Add(1) }}
}

// busy hands the runner one batch it gets stuck in and fills its queue of one behind it.
func (f *gateFixture) busy(t *testing.T) {
	t.Helper()
	if f.g.hand(context.Background(), f.batch(), 0) {
		t.Fatal("an idle runner refused a batch")
	}
	<-f.op.observing
	if f.g.hand(context.Background(), f.batch(), 0) {
		t.Fatal("a runner with room in its queue refused a batch")
	}
}

func (f *gateFixture) clientPaused() bool { return len(f.cl.PauseFetchPartitions(nil)["events"]) > 0 }

// A partition paused for two reasons is fetched again only once both are gone; the gauge
// counts it once and the counter by its first reason. Batches that waited reach the runner in
// order once it has room.
func TestGatePausesUntilNoReasonIsLeft(t *testing.T) {
	f := newGateFixture(t)
	f.busy(t)
	if !f.g.hand(context.Background(), f.batch(), 0) || !f.clientPaused() {
		t.Fatal("a batch the runner had no room for did not wait with the partition paused")
	}
	f.g.inflight.Store(100) // it holds part of the budget
	if f.g.budgetFull() {
		t.Error("a partition holding part of the full budget is still to be fetched")
	}
	if !f.g.retry() {
		t.Error("retry reports nothing waiting while the runner is still stuck")
	}
	close(f.op.release)
	deadline := time.Now().Add(10 * time.Second)
	for f.g.retry() {
		if time.Now().After(deadline) {
			t.Fatal("the waiting batch never reached the runner")
		}
		time.Sleep(time.Millisecond)
	}
	if !f.clientPaused() || testutil.ToFloat64(f.m.paused) != 1 {
		t.Error("the partition was resumed while the budget still paused it")
	}
	f.g.budgetFreed()
	if f.clientPaused() || testutil.ToFloat64(f.m.paused) != 0 {
		t.Error("the partition stayed paused with no reason left")
	}
	if r, b := testutil.ToFloat64(f.m.pauses.WithLabelValues("runner")), testutil.ToFloat64(f.m.pauses.WithLabelValues("budget")); r != 1 || b != 0 {
		t.Errorf("pauses by reason: runner %v, budget %v; want 1 and 0 (the first reason only)", r, b)
	}
	for f.done.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the runner finished %d of 3 batches", f.done.Load())
		}
		time.Sleep(time.Millisecond)
	}
	// Holding nothing, a partition keeps fetching under a full budget.
	f.g.inflight.Store(0)
	if !f.g.budgetFull() || f.clientPaused() {
		t.Error("a partition holding none of the budget was paused for it")
	}
}

// A revoked partition's waiting batches are released and counted, its pause forgotten, and a
// batch handed over after that is released at once instead of waiting forever.
func TestGateCloseReleasesWhatWaited(t *testing.T) {
	f := newGateFixture(t)
	f.busy(t)
	f.g.hand(context.Background(), f.batch(), 0)
	f.g.hand(context.Background(), f.batch(), 0)
	waited := f.g.close()
	if len(waited) != 2 || testutil.ToFloat64(f.m.paused) != 0 {
		t.Fatalf("close returned %d batches, paused gauge %v; want the 2 that waited and 0", len(waited), testutil.ToFloat64(f.m.paused))
	}
	before := f.done.Load()
	if f.g.hand(context.Background(), f.batch(), 0) || f.done.Load() != before+1 {
		t.Error("a batch handed to a closed gate was kept instead of released")
	}
	if got := testutil.ToFloat64(f.m.discarded.WithLabelValues("revoked")); got != 3 {
		t.Errorf("discarded as revoked: %v records, want 3", got)
	}
	if f.g.retry() {
		t.Error("a closed gate still has batches to offer")
	}
}

// A partition whose store stalls holds one fetched batch, the one its runner blocks in, not a
// queue of them and a batch waiting here besides: once the store is a window behind, the gate
// pauses the partition whenever its runner has a batch (reason "store") and resumes it when the
// runner has finished it. Fed as the poll loop feeds it (a batch whenever the partition is not
// paused, the gate looked at again in between), each batch half a one-second window.
func TestGateHoldsOneBatchBehindAStalledStore(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	cfg := pipeline.DefaultWindowConfig()
	cfg.Period, cfg.AllowedLateness, cfg.MaxPendingWindows = time.Second, 0, 4
	store := &pipelinetest.MemStore{Gate: make(chan struct{})}
	rt, err := pipeline.New(pipeline.Options{Window: cfg, Plan: decode.NewPlan(decode.JSON),
		Partials: store, DeadLetters: store, Committer: pipelinetest.Discard{}, Budget: pipeline.NewBudget(1 << 30),
		Metrics: pipeline.NewMetrics(reg), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}) // QueueLen: the default, 4
	if err != nil {
		t.Fatal(err)
	}
	rt.Start()
	p := pipeline.Partition{Stream: "events", ID: "0"}
	feed, err := rt.Assign(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:1")) // pause bookkeeping only
	if err != nil {
		t.Fatal(err)
	}
	g := newGate(tp{"events", 0}, feed, cl, m)
	gateOpen := false
	t.Cleanup(func() {
		if !gateOpen {
			close(store.Gate)
		}
		_ = rt.Close(context.Background())
		cl.Close()
	})
	paused := func() bool { return len(cl.PauseFetchPartitions(nil)["events"]) > 0 }

	var handed, done atomic.Int64
	next := 0
	mk := func() pipeline.Batch {
		b := pipeline.Batch{Partition: p, Done: func() { done.Add(1) }, More: true}
		at := time.Unix(0, 0).Add(time.Hour + time.Duration(next)*500*time.Millisecond)
		for i := range 200 {
			b.Records = append(b.Records, pipeline.Record{Partition: p, Position: pipeline.Position{Offset: int64(next*200 + i)},
				Value: []byte(`{}`), Time: at.Add(time.Duration(i) * 2 * time.Millisecond)})
		}
		next++
		return b
	}
	ctx := context.Background()
	last, since := int64(-1), time.Now()
	for {
		g.retry()
		if !paused() {
			g.hand(ctx, mk(), 0)
			handed.Add(1)
		}
		if d := done.Load(); d != last {
			last, since = d, time.Now()
		} else if time.Since(since) > 300*time.Millisecond {
			break // the runner is blocked on the store: nothing finished for 300 ms
		}
		if handed.Load() > 200 {
			t.Fatal("200 batches went through with a stalled store")
		}
		time.Sleep(100 * time.Microsecond)
	}
	g.mu.Lock()
	waiting := len(g.pending)
	g.mu.Unlock()
	t.Logf("held %d batches, %d of them waiting in the gate", handed.Load()-done.Load(), waiting)
	if held := handed.Load() - done.Load(); held > 1 || !paused() {
		t.Errorf("behind the stalled store the partition holds %d batches (%d waiting in the gate), paused %v; want 1 (the one its runner is blocked in), paused",
			held, waiting, paused())
	}
	if got := testutil.ToFloat64(m.pauses.WithLabelValues("store")); got == 0 {
		t.Error("no pause for the store counted")
	}
	// The store returns: the runner finishes what it holds and the partition is fetched again.
	close(store.Gate)
	gateOpen = true
	deadline := time.Now().Add(10 * time.Second)
	for done.Load() < handed.Load() || paused() {
		if time.Now().After(deadline) {
			t.Fatalf("after the store returned: %d of %d batches finished, paused %v", done.Load(), handed.Load(), paused())
		}
		g.retry()
		time.Sleep(time.Millisecond)
	}
}
