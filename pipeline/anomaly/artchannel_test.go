package anomaly

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// cycle is a daily cycle of 288 points (5-minute data) with unit noise.
func cycle(n int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = 100 + 30*math.Sin(2*math.Pi*float64(i)/288) + rng.NormFloat64()
	}
	return xs
}

// TestShapeReportsSpikeNotCycle: after its probation the shape channel is silent on the cycle
// it learned, and reports a spike within the block that holds it.
func TestShapeReportsSpikeNotCycle(t *testing.T) {
	const n, spike = 6000, 4000
	var clean artChannel
	quiet := 0
	for i, v := range cycle(n, 1) {
		if s := clean.observe(v, 6000); s > 0 && i > 2*artProbPts {
			quiet++
		}
	}
	if quiet > 5 {
		t.Errorf("%d shape reports on a clean cycle after twice the probation, want at most 5", quiet)
	}
	xs := cycle(n, 1)
	xs[spike] += 200
	var c artChannel
	found := -1
	for i, v := range xs {
		if s := c.observe(v, 6000); s > 0 && i >= spike && found < 0 {
			found = i
		}
	}
	if found < 0 || found >= spike+artStep {
		t.Errorf("a spike of 200 on a cycle of ±30 was reported at point %d, want within the block after %d", found, spike)
	}
}

// TestShapeSilentInProbation: nothing is reported before the probation ends, however wild.
func TestShapeSilentInProbation(t *testing.T) {
	var c artChannel
	rng := rand.New(rand.NewPCG(3, 3))
	for i := range artProbPts {
		if s := c.observe(rng.ExpFloat64()*100, 6000); s != 0 {
			t.Fatalf("point %d of the probation reported %v", i, s)
		}
	}
}

// TestShapeBoundedCategories: white noise makes new categories without end; the network keeps
// at most artCategories, replacing the least recently matched.
func TestShapeBoundedCategories(t *testing.T) {
	var c artChannel
	rng := rand.New(rand.NewPCG(2, 2))
	full := false
	for range 200000 {
		c.observe(rng.Float64(), 6000)
		full = full || c.net.n == artCategories
		if c.net.n > artCategories {
			t.Fatalf("%d categories, want at most %d", c.net.n, artCategories)
		}
	}
	if !full {
		t.Errorf("white noise never filled the network (%d categories): the bound is untested", c.net.n)
	}
}

// TestShapeReportRarity: the surprise of a report is −ln of the series' rate of reports, so a
// series that keeps producing new shapes scores them lower than one that rarely does.
func TestShapeReportRarity(t *testing.T) {
	var c artChannel
	if s := c.observe(1, 6000); s != 0 {
		t.Fatal("the first point reported")
	}
	if got, want := c.rate, 1.0/artProbPts*(1-1.0/6000); math.Abs(got-want) > 1e-15 {
		t.Errorf("rate after one quiet point %v, want %v", got, want)
	}
}

func TestHaarKnownValues(t *testing.T) {
	xs := [artWindow]float64{1, 1, 1, 1, 1, 1, 1, 1}
	haar(&xs)
	if want := 8 / math.Sqrt(8); math.Abs(xs[0]-want) > 1e-12 {
		t.Fatalf("haar of ones: first coefficient %v, want %v", xs[0], want)
	}
	for i, x := range xs[1:] {
		if math.Abs(x) > 1e-12 {
			t.Fatalf("haar of ones: detail %d is %v, want 0", i+1, x)
		}
	}
	xs = [artWindow]float64{1, -1}
	haar(&xs)
	// The finest detail of the first pair is (1−(−1))/√2 at index 4.
	if math.Abs(xs[4]-math.Sqrt2) > 1e-12 || math.Abs(xs[0]) > 1e-12 {
		t.Fatalf("haar(1, −1, 0…) = %v", xs)
	}
}

// TestShapeReasonAndScore: through the detector, a shape report names the shape channel when
// its score is the one written.
func TestShapeReasonAndScore(t *testing.T) {
	d := New(DefaultConfig())
	xs := cycle(6000, 5)
	// A burst of a new shape: the cycle inverted for two windows' span.
	for i := 4000; i < 4000+2*artWindow*artStep; i++ {
		xs[i] = 200 - xs[i]
	}
	shape := 0
	for i, v := range xs {
		r := d.Observe(t0.Add(time.Duration(i)*step), v)
		if r.Reason == ReasonShape {
			shape++
			if !r.Peak || r.Score <= 0 {
				t.Errorf("point %d: a shape report %+v that is not a positive report", i, r)
			}
		}
	}
	if shape == 0 {
		t.Error("an inverted cycle was never reported as a shape")
	}
}

// BenchmarkShapeObserve measures the shape channel alone, on a daily cycle after its probation.
func BenchmarkShapeObserve(b *testing.B) {
	xs := cycle(1<<14, 4)
	var c artChannel
	for _, x := range xs {
		c.observe(x, 6000)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.observe(xs[i&(1<<14-1)], 6000)
	}
	b.ReportMetric(float64(c.net.n), "categories")
}

// TestShapeExtremeValues: values whose span overflows to Inf (and so normalise to NaN) are
// handled as the lowest level, never an index out of range.
func TestShapeExtremeValues(t *testing.T) {
	var c artChannel
	// Each block: five lowest values, then the highest, which spans the range to Inf on the
	// block's last point.
	for i := range 3 * artProbPts {
		v := -math.MaxFloat64
		if i%artStep == artStep-1 {
			v = math.MaxFloat64
		}
		c.observe(v, 6000)
	}
}
