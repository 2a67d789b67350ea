package main

import (
	"math"
	"math/rand/v2"
	"testing"
)

// sineSeries is a daily cycle of period points with noise: a series the ART detector should
// learn in its probation and then find familiar.
func sineSeries(n, period int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = 100 + 30*math.Sin(2*math.Pi*float64(i)/float64(period)) + rng.NormFloat64()
	}
	return xs
}

func TestARTReportsSpikeNotCycle(t *testing.T) {
	const n, period, spike = 6000, 288, 4000
	clean := sineSeries(n, period, 1)
	a := newARTStream(defaultARTConfig())
	var cleanReports int
	for i, v := range clean {
		if c := a.observe(v); c > 0 && i > 2*a.probationPoints() {
			cleanReports++
		}
	}
	// The same series with one spike: reported within the block that holds it.
	spiked := sineSeries(n, period, 1)
	spiked[spike] += 200
	b := newARTStream(defaultARTConfig())
	found := -1
	for i, v := range spiked {
		if c := b.observe(v); c > 0 && i >= spike && i < spike+2*b.c.step && found < 0 {
			found = i
		}
	}
	if found < 0 {
		t.Errorf("a spike of 200 on a cycle of ±30 was not reported within two blocks")
	}
	if cleanReports > 5 {
		t.Errorf("%d reports on a clean cycle after twice the probation, want at most 5", cleanReports)
	}
	t.Logf("clean reports %d, spike reported at %d", cleanReports, found)
}

func TestARTBoundedCategories(t *testing.T) {
	c := defaultARTConfig()
	c.categories = 8
	a := newARTStream(c)
	rng := rand.New(rand.NewPCG(2, 2))
	for range 20000 {
		a.observe(rng.Float64())
	}
	if a.net.n > 8 {
		t.Fatalf("%d categories, want at most 8", a.net.n)
	}
}

func TestARTObserveAllocs(t *testing.T) {
	a := newARTStream(defaultARTConfig())
	xs := sineSeries(4096, 288, 3)
	i := 0
	if n := testing.AllocsPerRun(10000, func() { a.observe(xs[i%len(xs)]); i++ }); n != 0 {
		t.Fatalf("%v allocations per point, want 0", n)
	}
}

func TestHaarKnownValues(t *testing.T) {
	xs := []float64{1, 1, 1, 1}
	haar(xs, make([]float64, 4))
	want := []float64{2, 0, 0, 0}
	for i := range xs {
		if math.Abs(xs[i]-want[i]) > 1e-12 {
			t.Fatalf("haar(1,1,1,1) = %v, want %v", xs, want)
		}
	}
	xs = []float64{1, 0, 0, 0}
	haar(xs, make([]float64, 4))
	want = []float64{0.5, 0.5, 1 / math.Sqrt2, 0}
	for i := range xs {
		if math.Abs(xs[i]-want[i]) > 1e-12 {
			t.Fatalf("haar(1,0,0,0) = %v, want %v", xs, want)
		}
	}
}

func BenchmarkARTObserve(b *testing.B) {
	a := newARTStream(defaultARTConfig())
	xs := sineSeries(1<<14, 288, 4)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a.observe(xs[i&(1<<14-1)])
	}
}
