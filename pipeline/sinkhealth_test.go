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

// switchSink fails every write while fail is set.
type switchSink struct {
	*pipelinetest.MemSink
	fail atomic.Bool
}

func (s *switchSink) Write(ctx context.Context, out *pipeline.Output) error {
	if s.fail.Load() {
		return io.ErrUnexpectedEOF
	}
	return s.MemSink.Write(ctx, out)
}

// FailingSinks names a sink from its first failed write until a write succeeds, with the time
// of that first failure (not of the latest retry) and the last error.
func TestFailingSinks(t *testing.T) {
	sink := &switchSink{MemSink: &pipelinetest.MemSink{}}
	sink.fail.Store(true)
	h := newHarness(t, pipeline.DefaultWindowConfig(), nil, sink.MemSink, func(o *pipeline.Options) {
		o.Sinks = []pipeline.Sink{sink}
	})
	p := pipeline.Partition{Stream: "s", ID: "0"}
	f, err := h.rt.Assign(p)
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
	closed := make(chan error, 1)
	go func() { closed <- h.rt.Close(context.Background()) }() // flushes the open window
	var first pipeline.SinkFailure
	pipelinetest.WaitFor(t, func() bool { // the failing write reported
		fs := h.rt.FailingSinks()
		if len(fs) == 1 {
			first = fs[0]
		}
		return len(fs) == 1
	})
	if first.Sink != "mem" || !errors.Is(first.Err, io.ErrUnexpectedEOF) || time.Since(first.Since) > 5*time.Second {
		t.Errorf("failure %+v", first)
	}
	time.Sleep(400 * time.Millisecond) // retries (backoff from 100ms) keep failing
	if fs := h.rt.FailingSinks(); len(fs) != 1 || !fs[0].Since.Equal(first.Since) {
		t.Errorf("after retries: %+v, want the first failure's time %v kept", fs, first.Since)
	}
	sink.fail.Store(false)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if fs := h.rt.FailingSinks(); len(fs) != 0 {
		t.Errorf("after a successful write: %+v", fs)
	}
	if len(sink.Outputs()) == 0 {
		t.Error("nothing written after the sink recovered")
	}
}
