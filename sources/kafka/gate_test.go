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
