package pipeline_test

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/pipelinetest"
)

// switchStore fails every partial write while fail is set.
type switchStore struct {
	*pipelinetest.MemStore
	fail atomic.Bool
}

func (s *switchStore) WritePartial(ctx context.Context, start time.Time, p pipeline.Partition, body []byte) error {
	if s.fail.Load() {
		return io.ErrUnexpectedEOF
	}
	return s.MemStore.WritePartial(ctx, start, p, body)
}

// FailingSinks names the partial store from its first failed write until a write succeeds,
// with the time of that first failure (not of the latest retry) and the last error.
func TestFailingSinks(t *testing.T) {
	store := &switchStore{MemStore: &pipelinetest.MemStore{}}
	store.fail.Store(true)
	cfg := pipeline.DefaultWindowConfig()
	cfg.AllowedLateness = 0
	h := newHarness(t, cfg, nil, store.MemStore, func(o *pipeline.Options) { o.Partials = store })
	p := pipeline.Partition{Stream: "s", ID: "0"}
	f, err := h.rt.Assign(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := f.Send(ctx, batch(p, 0, 10, t0, time.Millisecond, "x")); err != nil {
		t.Fatal(err)
	}
	if got := h.rt.FailingSinks(); len(got) != 0 {
		t.Fatalf("failing before any write: %+v", got)
	}
	// The next window's record closes the first: its partial's write fails.
	if err := f.Send(ctx, batch(p, 10, 1, t0.Add(cfg.Period), 0, "x")); err != nil {
		t.Fatal(err)
	}
	var first pipeline.SinkFailure
	pipelinetest.WaitFor(t, func() bool { // the failing write reported
		fs := h.rt.FailingSinks()
		if len(fs) == 1 {
			first = fs[0]
		}
		return len(fs) == 1
	})
	if first.Sink != "partials" || !errors.Is(first.Err, io.ErrUnexpectedEOF) || time.Since(first.Since) > 5*time.Second {
		t.Errorf("failure %+v", first)
	}
	time.Sleep(400 * time.Millisecond) // retries (backoff from 100ms) keep failing
	if fs := h.rt.FailingSinks(); len(fs) != 1 || !fs[0].Since.Equal(first.Since) {
		t.Errorf("after retries: %+v, want the first failure's time %v kept", fs, first.Since)
	}
	store.fail.Store(false)
	pipelinetest.WaitFor(t, func() bool { return h.rt.Stats().Partials == 1 })
	if fs := h.rt.FailingSinks(); len(fs) != 0 {
		t.Errorf("after a successful write: %+v", fs)
	}
	if err := h.rt.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
