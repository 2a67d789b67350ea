package aggregator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"testing"

	"github.com/weirstream/weir/pipeline"
)

// outputBytes is an Output as the sinks would see it: its points and reports, marshalled.
func outputBytes(t *testing.T, out *pipeline.Output) []byte {
	t.Helper()
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeWindows writes the partials of n partitions for windows 0 to windows-1, events(w, i)
// demo events each, and returns the partitions in ComparePartitions order.
func writeWindows(t *testing.T, env *storeEnv, pr *producer, n, windows int, events func(w, i int) int) []pipeline.Partition {
	t.Helper()
	parts := make([]pipeline.Partition, n)
	for w := range windows {
		for i := range n {
			parts[i] = pipeline.Partition{Stream: "events", ID: fmt.Sprint(i)}
			body := pr.partial(t, parts[i], win(w), partitionEvents(w, i, events(w, i)), 0)
			if err := env.writer.WritePartial(ctx, win(w).Start, parts[i], body); err != nil {
				t.Fatal(err)
			}
		}
	}
	slices.SortFunc(parts, pipeline.ComparePartitions)
	return parts
}

// mergedBytes folds window w's partials of parts, every one usable, and returns the output's
// bytes.
func mergedBytes(t *testing.T, a *Aggregator, w int, parts []pipeline.Partition) []byte {
	t.Helper()
	f, err := a.fold(ctx, win(w), parts)
	if err != nil {
		t.Fatal(err)
	}
	if f.summary.Partitions != len(parts) || len(f.summary.FailedOperators) != 0 {
		t.Fatalf("window %d: merged %d partials, failed %v", w, f.summary.Partitions, f.summary.FailedOperators)
	}
	return outputBytes(t, a.output(win(w), f))
}

// The fold decodes partials into states it merged before (freeStates): a window merged by an
// aggregator that has merged others must give the bytes a fresh aggregator gives. The first
// window's partials are large (every rule's sketch full, distinct counters dense), the
// second's small, empty or missing, so a state that kept anything of an earlier partial would
// show it; two readers cycle the few states through every partial.
func TestReusedStatesLeakNothing(t *testing.T) {
	const n = 8
	env := fileEnv(t)
	pr := newProducer(t, nil)
	events := func(w, i int) int {
		if w == 0 {
			return 1000
		}
		return []int{3, 0, 200, 1, 40, 0, 7, 1000}[i]
	}
	parts := writeWindows(t, env, pr, n, 2, events)
	merge := func(a *Aggregator, w int) []byte { return mergedBytes(t, a, w, parts) }
	readers := func(o *Options) { o.Config.ReadConcurrency = 2 }
	clk := &clock{now: win(1).End}

	used := newAgg(t, env, n, nil, clk, readers)
	first := merge(used, 0)
	reused := 0
	for i := range used.ops {
		reused += len(used.free.free[i])
	}
	if reused == 0 {
		t.Fatal("no state was kept for reuse: the test would prove nothing")
	}
	second := merge(used, 1)
	again := merge(used, 0)

	if fresh := merge(newAgg(t, env, n, nil, clk, readers), 1); !bytes.Equal(second, fresh) {
		t.Errorf("window 1 merged after window 0 differs from window 1 merged by a fresh aggregator:\n%s\n%s", second, fresh)
	}
	if !bytes.Equal(first, again) {
		t.Errorf("window 0 merged again, after window 1, differs from its first merge:\n%s\n%s", again, first)
	}
}

// A window's merge allocates per partition what reading its partial takes, not what its
// sketches hold: BenchmarkMerge's partials (the three example rules over 1,000 demo records
// each) once cost 516 KB and 2,090 allocations each, a fresh sketch decoded per rule and fresh
// merge arrays per pairwise merge; then the partial's bytes read and its state bytes copied
// by the decoder (about 27 and 28 KB) were most of what was left, and each reader now reuses
// one buffer for both (readBuffers). What remains is mostly the window's own output, shared
// by its partitions.
func TestMergeAllocationsPerPartition(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	const n = 32
	env := fileEnv(t)
	pr := newProducer(t, nil)
	parts := make([]pipeline.Partition, n)
	for i := range n {
		parts[i] = pipeline.Partition{Stream: "events", ID: fmt.Sprint(i)}
		body := pr.partial(t, parts[i], win(0), partitionEvents(0, i, 1000), 0)
		if err := env.writer.WritePartial(ctx, win(0).Start, parts[i], body); err != nil {
			t.Fatal(err)
		}
	}
	slices.SortFunc(parts, pipeline.ComparePartitions)
	a := newAgg(t, env, n, nil, &clock{now: win(0).End}, nil)
	merge := func() {
		f, err := a.fold(ctx, win(0), parts)
		if err != nil || f.summary.Partitions != n {
			t.Fatalf("merged %v partials: %v", f, err)
		}
		a.output(win(0), f)
	}
	merge() // the first window fills the free states
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const windows = 3
	for range windows {
		merge()
	}
	runtime.ReadMemStats(&after)
	allocs := float64(after.Mallocs-before.Mallocs) / (windows * n)
	kb := float64(after.TotalAlloc-before.TotalAlloc) / (windows * n) / 1024
	t.Logf("per partition: %.0f allocations, %.1f KB", allocs, kb)
	if allocs > 200 || kb > 75 {
		t.Errorf("per partition: %.0f allocations and %.1f KB, want at most 200 and 75 KB", allocs, kb)
	}
}
