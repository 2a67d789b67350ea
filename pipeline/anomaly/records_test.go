package anomaly

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestDropBelowEverythingOutranksAnEqualRise: a series that bursts upward (2% of points, up
// to 20 deviations) and has never gone far down. A drop and a rise of the same size from the
// expected value have the same residual; the drop lands beyond every value the series has
// produced, the rise inside the range its bursts fill. The record's rarity is what sets the
// drop apart: measured over these seeds, it scores 0.063 to 0.146 above the rise with records,
// and 0 to 0.051 without them (what the novelty channel alone gives a new low level).
func TestDropBelowEverythingOutranksAnEqualRise(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		r := rand.New(rand.NewPCG(seed, 5))
		d := New(DefaultConfig())
		lo, hi := math.Inf(1), math.Inf(-1)
		const n = 4000
		for i := 0; i < n; i++ {
			x := 1000 + 10*r.NormFloat64()
			if r.Float64() < 0.02 {
				x += 200 * r.Float64()
			}
			lo, hi = min(lo, x), max(hi, x)
			d.Observe(t0.Add(time.Duration(i)*step), x)
		}
		at := t0.Add(n * step)
		exp, _ := d.fc.predict(slots(at))
		gap := exp - lo + 2*bandZ*d.fc.devFloor() // beyond the low by twice the margin
		if exp+gap >= hi {
			t.Fatalf("seed %d: the rise %.1f is not inside the range (highest %.1f)", seed, exp+gap, hi)
		}
		down, up := *d, *d
		drop, rise := down.Observe(at, exp-gap), up.Observe(at, exp+gap)
		if drop.Score < rise.Score+0.06 {
			t.Errorf("seed %d: a drop to %.1f, below everything, scored %.3f (%v); the same rise %.3f (%v)",
				seed, exp-gap, drop.Score, drop.Reason, rise.Score, rise.Reason)
		}
	}
}

// TestRecordsRarity: the rarity of a record is −ln of the series' record rate, so that on
// exchangeable values a late record earns about ln n and a trending series, which sets a
// record on every point, earns nothing for it; a value within the margin is no record.
func TestRecordsRarity(t *testing.T) {
	slow := 1 / float64(DefaultConfig().Memory)
	tail := slow / tailHorizon

	var up records
	for i := 0; i < 1000; i++ {
		up.observe(float64(i), 0, slow, tail)
	}
	if s := up.observe(1000, 0, slow, tail); s > 0.01 {
		t.Errorf("a trending series' record scored %.3f, want about 0", s)
	}

	var flat records
	r := rand.New(rand.NewPCG(3, 3))
	for i := 0; i < 3000; i++ {
		flat.observe(r.NormFloat64(), 0, slow, tail)
	}
	if s := flat.observe(flat.hi+0.5, 1, slow, tail); s != 0 {
		t.Errorf("a value within the margin scored %.3f, want 0", s)
	}
	// 3000 exchangeable values set about 2 ln 3000 ≈ 16 records: a rate near 16/3000.
	if s := flat.observe(flat.hi+2, 1, slow, tail); s < 5 || s > 7 {
		t.Errorf("a record after 3000 exchangeable values scored %.2f, want about ln(3000/16) = 5.2", s)
	}
}
