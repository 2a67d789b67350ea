package worker

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/internal/ecs/ecstest"
	"github.com/weirstream/weir/pipeline"
)

// slowablePartials makes every partial written take delay while it is set: a partial store
// slow enough to put the worker behind. A write in progress when the delay is lifted returns
// then, as a store that recovers does, rather than sleeping out the delay it began with: a
// partition blocked on the store must not stay blocked for up to a whole delay after it.
type slowablePartials struct {
	pipeline.PartialWriter
	delay *atomic.Int64
}

func (s slowablePartials) WritePartial(ctx context.Context, start time.Time, p pipeline.Partition, body []byte) error {
	began := time.Now()
	for {
		d := time.Duration(s.delay.Load())
		if d <= 0 || time.Since(began) >= d {
			break
		}
		select {
		case <-time.After(min(10*time.Millisecond, d-time.Since(began))):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.PartialWriter.WritePartial(ctx, start, p, body)
}

// Task scale-in protection, against the fake ECS agent the deploy tests use: never taken while
// the worker keeps up with steady live traffic; taken while it falls behind (a slow partial
// store holds it back: more than ecs.protection.behind, 1s here); removed once it has caught
// up for idle_grace, with the traffic still flowing; and, held at SIGTERM, kept through the
// drain and removed only after the final commit.
func TestProtectionDuringABacklogOnly(t *testing.T) {
	agent := ecstest.Start(t, "eu-west-1", "111122223333", "weir", "0f1e2d3c4b5a69788796a5b4c3d2e1f0")
	for _, kv := range agent.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	const parts = 2
	c, cl := newTopic(t, parts)
	// Steady live traffic: 40 records every 50ms, until the test ends.
	trafficCtx, stopTraffic := context.WithCancel(context.Background())
	var traffic sync.WaitGroup
	traffic.Add(1)
	go func() {
		defer traffic.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-trafficCtx.Done():
				return
			case <-tick.C:
			}
			var recs []*kgo.Record
			for j := range 40 {
				recs = append(recs, &kgo.Record{Topic: "events", Partition: int32(j % parts), Value: fmt.Appendf(nil, `{"i":%d}`, i)})
			}
			_ = cl.ProduceSync(trafficCtx, recs...)
		}
	}()
	defer func() { stopTraffic(); traffic.Wait() }()

	cfg := kafkaConfig(c, "protected", t.TempDir())
	cfg.Window.AllowedLateness, cfg.Window.IdleTimeout = 0, 300*time.Millisecond
	cfg.Lag.Interval, cfg.Lag.Window = 200*time.Millisecond, 3*time.Second
	cfg.ShutdownTimeout = 10 * time.Second
	p := &cfg.ECS.Protection
	p.Enabled, p.Behind, p.IdleGrace, p.CheckInterval, p.RequestTimeout = true, time.Second, 500*time.Millisecond, 100*time.Millisecond, time.Second
	var delay atomic.Int64
	deps := testDeps()
	deps.Hooks.WrapPartials = func(s pipeline.PartialWriter) pipeline.PartialWriter {
		return slowablePartials{PartialWriter: s, delay: &delay}
	}
	var commitDone atomic.Int64
	deps.Hooks.Stopped = func(part string) {
		if part == PartCommit {
			commitDone.Store(time.Now().UnixNano())
		}
	}
	w, stopWorker := runWorker(t, cfg, deps)
	stopped := false
	defer func() {
		if !stopped {
			_ = stopWorker()
		}
	}()

	calls := func() []bool {
		var out []bool
		for _, r := range agent.Protections() {
			out = append(out, r.Protect)
		}
		return out
	}
	waitCalls := func(what string, n int, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for len(calls()) < n {
			if time.Now().After(deadline) {
				t.Fatalf("no %s within %v: protection calls %v, %d records processed", what, within, calls(), w.Stats().Records)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// Keeping up with live traffic: no protection.
	time.Sleep(4 * time.Second)
	if got := calls(); len(got) != 0 {
		t.Fatalf("protection calls %v while keeping up with live traffic, want none", got)
	}
	if w.Stats().Records == 0 {
		t.Fatal("nothing processed: the steady phase proves nothing")
	}

	// Behind: protected.
	delay.Store(int64(3 * time.Second))
	waitCalls("protection while behind", 1, 20*time.Second)
	if got := calls(); !got[0] {
		t.Fatalf("first call %v, want an enable", got)
	}
	// Caught up, traffic still flowing: protection comes off, and stays off.
	delay.Store(0)
	waitCalls("the release after catching up", 2, 30*time.Second)
	if got := calls(); got[1] {
		t.Fatalf("calls %v, want the second to release", got)
	}
	time.Sleep(2 * time.Second)
	if got := calls(); len(got) != 2 {
		t.Fatalf("calls %v after catching up, want no more", got)
	}

	// Behind again, then SIGTERM: protection stays through the drain, off after the commit.
	delay.Store(int64(3 * time.Second))
	waitCalls("protection while behind again", 3, 20*time.Second)
	delay.Store(int64(200 * time.Millisecond)) // slow, but the drain finishes
	stopped = true
	if err := stopWorker(); err != nil {
		t.Errorf("run: %v", err)
	}
	reqs := agent.Protections()
	last := reqs[len(reqs)-1]
	if len(reqs) != 4 || last.Protect {
		t.Fatalf("calls %v after the shutdown, want the third protection released once", calls())
	}
	if c := time.Unix(0, commitDone.Load()); commitDone.Load() == 0 || last.Time.Before(c) {
		t.Errorf("protection released at %v, before the final commit finished at %v", last.Time, c)
	}
}
