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
// drop apart: measured over these seeds, it scores 0.188 to 0.236 above the rise with the
// record's rarity added after the report curve (0.064 to 0.146 with it mapped through the curve,
// before bench/nab decision 150), and 0 to 0.051 without records (what the novelty channel
// alone gives a new low level).
func TestDropBelowEverythingOutranksAnEqualRise(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		d, at, lo, hi := burstingSeries(seed)
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

// burstingSeries is 4000 points around 1000 (deviation 10) of which 2% burst upward by up to
// 200; it returns the detector, the next point's time and the lowest and highest values.
func burstingSeries(seed uint64) (d *Detector, next time.Time, lo, hi float64) {
	r := rand.New(rand.NewPCG(seed, 5))
	d = New(DefaultConfig())
	lo, hi = math.Inf(1), math.Inf(-1)
	const n = 4000
	for i := 0; i < n; i++ {
		x := 1000 + 10*r.NormFloat64()
		if r.Float64() < 0.02 {
			x += 200 * r.Float64()
		}
		lo, hi = min(lo, x), max(hi, x)
		d.Observe(t0.Add(time.Duration(i)*step), x)
	}
	return d, t0.Add(n * step), lo, hi
}

// TestRecordsRarity: the rarity of a record is −ln of the series' record rate, so that on
// exchangeable values a late record earns about ln n and a trending series, which sets a
// record on every point, earns nothing for it; a value within the margin is no record.
func TestRecordsRarity(t *testing.T) {
	slow := 1 / float64(DefaultConfig().Memory)
	tail := slow / tailHorizon

	var up records
	for i := 0; i < 1000; i++ {
		up.observe(float64(i), 0, slow, tail, 0)
	}
	if s := up.observe(1000, 0, slow, tail, 0); s > 0.01 {
		t.Errorf("a trending series' record scored %.3f, want about 0", s)
	}

	var flat records
	r := rand.New(rand.NewPCG(3, 3))
	for i := 0; i < 3000; i++ {
		flat.observe(r.NormFloat64(), 0, slow, tail, 0)
	}
	if s := flat.observe(flat.hi+0.5, 1, slow, tail, 0); s != 0 {
		t.Errorf("a value within the margin scored %.3f, want 0", s)
	}
	// 3000 exchangeable values set about 2 ln 3000 ≈ 16 records: a rate near 16/3000.
	young := flat
	if s := young.observe(young.hi+2, 1, slow, tail, 5000); s != 0 {
		t.Errorf("a record on a series younger than the settling age scored %.3f, want 0", s)
	}
	if young.rate <= flat.rate {
		t.Errorf("a young series' record left the record rate at %.2e (before %.2e): it must still count", young.rate, flat.rate)
	}
	if s := flat.observe(flat.hi+2, 1, slow, tail, 0); s < 5 || s > 7 {
		t.Errorf("a record after 3000 exchangeable values scored %.2f, want about ln(3000/16) = 5.2", s)
	}
}

// nats is the calibrated surprise a Score stands for (the inverse of s/(s+scoreHalf)).
func nats(score float64) float64 { return scoreHalf * score / (1 - score) }

// TestRecordAddsItsWholeRarity: on a series that bursts upward (2% of points, up to 20
// deviations) the report curve learns that large reports are routine and flattens. A drop
// below everything the series has produced must still count the whole rarity of a record
// (−ln of the series' record rate) above a rise of the same size inside the range, not what is
// left of it after the flattened curve. Measured over these seeds: the drop scores 6.5 to 8.5
// nats above the rise, rarity 6.5 to 7.2; with the rarity mapped through the curve (before
// bench/nab decision 150), 1.7 to 4.4.
func TestRecordAddsItsWholeRarity(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		d, at, lo, _ := burstingSeries(seed)
		exp, _ := d.fc.predict(slots(at))
		gap := exp - lo + 2*bandZ*d.fc.devFloor()
		rarity := -math.Log(math.Max(d.rec.rate, 1/float64(DefaultConfig().Memory)/tailHorizon))
		down, up := *d, *d
		drop, rise := down.Observe(at, exp-gap), up.Observe(at, exp+gap)
		if got := nats(drop.Score) - nats(rise.Score); got < rarity-0.01 {
			t.Errorf("seed %d: a drop below everything scored %.2f nats above the same rise, want at least the rarity %.2f",
				seed, got, rarity)
		}
	}
}

// TestYoungRecordAddsNothing: before the series is Memory/10 points old its range says how
// young it is, so a value beyond it scores what the channels give, as if it were inside.
func TestYoungRecordAddsNothing(t *testing.T) {
	cfg := DefaultConfig()
	for _, tc := range []struct {
		points int
		young  bool
	}{{cfg.Memory/settleDiv - 100, true}, {cfg.Memory/settleDiv + 100, false}} {
		r := rand.New(rand.NewPCG(7, 7))
		d := New(cfg)
		for i := 0; i < tc.points; i++ {
			d.Observe(t0.Add(time.Duration(i)*step), 100+r.NormFloat64())
		}
		at := t0.Add(time.Duration(tc.points) * step)
		v := d.rec.hi + 6*d.fc.devFloor()
		asRecord, inside := *d, *d
		inside.rec.hi = v + 1 // the same point, with a range that already holds it
		got, want := asRecord.Observe(at, v).Score, inside.Observe(at, v).Score
		if tc.young && got != want {
			t.Errorf("%d points: a young series' record scored %.4f, the same value inside the range %.4f",
				tc.points, got, want)
		}
		if !tc.young && got <= want {
			t.Errorf("%d points: a record scored %.4f, no more than the same value inside the range (%.4f)",
				tc.points, got, want)
		}
	}
}

// TestRecordAfterAnExcursion: an excursion inflates the forecaster's deviation, an EWMA over
// ~50 points, for as long again after it (here from about 8 to about 20 within 15 points).
// A drop below everything the series has produced shortly after must still count as a record:
// the margin it must clear is ordinary variation on the range's own horizon (the long-run
// spread), not the deviation the last excursion left. With the margin in the forecaster's
// deviation (before bench/nab decision 161) the drop scored as if inside the range.
func TestRecordAfterAnExcursion(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		r := rand.New(rand.NewPCG(seed, 11))
		d := New(DefaultConfig())
		i := 0
		observe := func(v float64) {
			d.Observe(t0.Add(time.Duration(i)*step), v)
			i++
		}
		for ; i < 4000; observe(1000 + 10*r.NormFloat64()) {
		}
		for k := 0; k < 15; k++ {
			observe(1300 + 50*r.NormFloat64())
		}
		for k := 0; k < 20; k++ {
			observe(1000 + 10*r.NormFloat64())
		}
		longRun, recent := bandZ*d.cx.spread, bandZ*d.fc.devFloor()
		if recent < 1.5*longRun {
			t.Fatalf("seed %d: the excursion left a margin of %.1f, not well above the long-run %.1f", seed, recent, longRun)
		}
		at := t0.Add(time.Duration(i) * step)
		v := d.rec.lo - (longRun+recent)/2
		asRecord, inside := *d, *d
		inside.rec.lo = v - 1 // the same point, with a range that already holds it
		got, want := asRecord.Observe(at, v).Score, inside.Observe(at, v).Score
		if got <= want {
			t.Errorf("seed %d: a drop to %.1f, %.1f below everything after an excursion, scored %.4f, as if inside the range (%.4f)",
				seed, v, d.rec.lo-v, got, want)
		}
	}
}
