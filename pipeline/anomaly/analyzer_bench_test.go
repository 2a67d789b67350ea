package anomaly

import (
	"fmt"
	"testing"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/contrib"
)

// benchOutput returns a window with 1000 watched series: Records and Bytes of 300 streams (plus
// their per-partition points, which are looked at and skipped), 50 rules with 4 metrics each,
// and the top 4 of each rule's 10 contributors (its report lists 10).
func benchOutput(i int) *pipeline.Output {
	out := &pipeline.Output{Window: windowN(i)}
	v := float64(1000 + (i*7919)%97)
	for s := range 300 {
		addThroughput(out, fmt.Sprintf("stream-%03d", s), int64(v)+int64(s), 100*int64(v))
	}
	for r := range 50 {
		cs := make([]contrib.Contributor, 10)
		for c := range cs {
			cs[c] = contrib.Contributor{Keys: []string{fmt.Sprintf("tenant-%02d", c), "eu-west-1"}, ApproximateAggregateValue: v * float64(10-c)}
		}
		addRule(out, fmt.Sprintf("rule-%02d", r), cs)
	}
	return out
}

// BenchmarkAnalyze measures one window of 1000 warm series (ns/series; allocs/op is per
// window, and should stay at the one growth of Output.Points).
func BenchmarkAnalyze(b *testing.B) {
	cfg := DefaultConfig()
	cfg.TopContributors = 4
	cfg.WarmUp = 10
	h := newHarness(b, cfg, nil)
	const windows = 64
	outs := make([]*pipeline.Output, windows)
	for i := range outs {
		outs[i] = benchOutput(i)
	}
	// Warm every detector, then reuse the windows at later times (each series needs a new window).
	for i := range 20 {
		o := clone(outs[i%windows])
		o.Window = windowN(i)
		h.a.Analyze(o)
	}
	if n := h.a.t.len(); n != 1000 {
		b.Fatalf("%d series, want 1000", n)
	}
	work := make([]*pipeline.Output, b.N)
	for i := range work {
		o := clone(outs[i%windows])
		o.Window = windowN(20 + i)
		work[i] = o
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.a.Analyze(work[i])
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/series")
	if got := len(work[b.N-1].Points) - len(outs[0].Points); got != 4000 {
		b.Fatalf("%d points appended, want 4000", got)
	}
}

// TestAnalyzeAllocations: a warm window with 1000 series allocates only the grown Points slice
// (and nothing per series).
func TestAnalyzeAllocations(t *testing.T) {
	cfg := DefaultConfig()
	cfg.TopContributors = 4
	cfg.WarmUp = 10
	h := newHarness(t, cfg, nil)
	base := benchOutput(0)
	i := 0
	next := func() *pipeline.Output {
		o := clone(base)
		o.Window = windowN(i)
		i++
		return o
	}
	for range 20 {
		h.a.Analyze(next())
	}
	var outs [110]*pipeline.Output
	for j := range outs {
		outs[j] = next()
	}
	j := 0
	allocs := testing.AllocsPerRun(100, func() {
		h.a.Analyze(outs[j])
		j++
	})
	if allocs > 1 {
		t.Errorf("Analyze allocates %v times per window of 1000 series, want 1", allocs)
	}
}
