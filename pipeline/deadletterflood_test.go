package pipeline

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/pipeline/decode"
)

// countingLetters is a DeadLetterSink that only counts: the flood measures the runtime's own
// memory, not a sink's.
type countingLetters struct{ n atomic.Int64 }

func (c *countingLetters) WriteDeadLetters(_ context.Context, ls []DeadLetter) error {
	c.n.Add(int64(len(ls)))
	return nil
}

type nopCommits struct{}

func (nopCommits) Commit(Partition, Checkpoint) {}

// nopPartials is a partial store that keeps nothing.
type nopPartials struct{}

func (nopPartials) WritePartial(context.Context, time.Time, Partition, []byte) error { return nil }

// flood sends one good record (its window stays open: nothing moves the watermark past it)
// and then n undecodable records behind it, in batches of 1,000, waits until every dead letter
// is written, and returns the hold entries the partition keeps and the live heap growth.
func flood(tb testing.TB, n int) (holdEntries int, heapGrowth int64) {
	tb.Helper()
	cfg := DefaultWindowConfig()
	cfg.TimeField = "$.ts"
	letters := &countingLetters{}
	rt, err := New(Options{
		Window: cfg, Plan: decode.NewPlan(decode.JSON), Partials: nopPartials{}, DeadLetters: letters, Committer: nopCommits{},
		Budget: NewBudget(1 << 30), Metrics: NewMetrics(prometheus.NewRegistry()),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		tb.Fatal(err)
	}
	rt.Start()
	defer rt.Close(context.Background())
	p := Partition{Stream: "events", ID: "0"}
	f, err := rt.Assign(p, nil)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	good := Batch{Partition: p, Records: []Record{{Partition: p, Value: []byte(`{"ts":"2026-11-21T13:00:00Z"}`)}}}
	if err := f.Send(ctx, good); err != nil {
		tb.Fatal(err)
	}
	before := liveHeap()
	bad := []byte(`{"ts" "2026-11-21T13:00:00Z","tenant":"t-0042","user":"u-1234","path":"/api/v1/items"}`)
	const batchLen = 1000
	for off := 1; off <= n; off += batchLen {
		recs := make([]Record, min(batchLen, n+1-off))
		for i := range recs {
			recs[i] = Record{Partition: p, Position: Position{Offset: int64(off + i)}, Value: bad}
		}
		if err := f.Send(ctx, Batch{Partition: p, Records: recs}); err != nil {
			tb.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Minute)
	for letters.n.Load() < int64(n) {
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d dead letters written after 5 minutes", letters.n.Load(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	rt.mu.Lock()
	h := rt.runners[p].holds
	rt.mu.Unlock()
	// The last release runs just after the sink returns: wait for it to be counted.
	waitUntil := time.Now().Add(10 * time.Second)
	for h.pending() > 1 && time.Now().Before(waitUntil) {
		time.Sleep(time.Millisecond)
	}
	h.mu.Lock()
	holdEntries = len(h.open)
	h.mu.Unlock()
	return holdEntries, liveHeap() - before
}

func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// A flood of undecodable records behind one open window keeps a bounded number of holds and
// no memory per record: every dead letter once took a hold that stayed in memory until the
// window was durable.
func TestDeadLetterFloodBehindOpenWindowStaysBounded(t *testing.T) {
	const n = 200_000
	holds, growth := flood(t, n)
	t.Logf("%d dead letters behind one open window: %d hold entries, live heap %+.1f MiB", n, holds, float64(growth)/(1<<20))
	if holds > 64 {
		t.Errorf("%d hold entries after %d dead letters behind one open window, want a bounded few", holds, n)
	}
	if growth > 8<<20 {
		t.Errorf("live heap grew by %.1f MiB over %d dead letters, want no growth per record", float64(growth)/(1<<20), n)
	}
}

// BenchmarkDeadLetterFlood is the measurement: 2 M undecodable records behind one open
// window. It reports the hold entries left and the live heap's growth (run with -benchtime 1x).
func BenchmarkDeadLetterFlood(b *testing.B) {
	for range b.N {
		holds, growth := flood(b, 2_000_000)
		b.ReportMetric(float64(holds), "holds")
		b.ReportMetric(float64(growth)/(1<<20), "heap-MiB")
	}
}
