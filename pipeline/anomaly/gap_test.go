package anomaly

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestGapInReportingStaysQuiet: an exporter that was down for 2 hours or a day resumes with the
// series' ordinary values (the same values the series would have had), and a user expects no
// alarm for them: in the first hour after the gap, at most 1 of 20 seeds of each family alarms,
// as the same points alarm without the gap (bench/synth, "gap 2h" and "gap 1d": 0 of 50 on these
// families in the first hour). The gap starts at a uniform point of the fourth week, after three
// weeks learned on time. Written in round 49, when the CPU gauge failed it (2 and 6 of 20 seeds,
// on the first to third point after the gap, at scores 0.47–0.85): its expectation after the gap
// was the plain level from before it (the model in use on 20 of 20 seeds: the CPU's slow wander
// makes the level more accurate than the profile), which did not know that time passed, while
// the daily shape and the wander moved the series by 8 to 18 points meanwhile. Since round 51
// (bench/nab/DECISIONS.md 337) the point after a gap is judged by the seasonal model and the
// level moves by the local-level model's gain for the time passed (forecast.go): 0 and 1 of 20.
func TestGapInReportingStaysQuiet(t *testing.T) {
	const seeds, hour = 20, 12
	for _, f := range userFamilies {
		for _, gap := range []int{2 * hour, pointsPerDay} {
			flagged, clean := 0, 0
			for seed := uint64(1); seed <= seeds; seed++ {
				at := 21*pointsPerDay + rand.New(rand.NewPCG(seed, 0x0a5e7)).IntN(7*pointsPerDay)
				xs := f.gen(seed, at+gap+hour)
				d, c := New(DefaultConfig()), New(DefaultConfig())
				alarmed, cleanAlarmed := false, false
				for i, x := range xs {
					ti := t0.Add(time.Duration(i) * step)
					r := c.Observe(ti, x)
					if i >= at+gap && r.Alarm {
						cleanAlarmed = true
					}
					if i >= at && i < at+gap {
						continue // the exporter is down
					}
					if r := d.Observe(ti, x); i >= at+gap && r.Alarm {
						alarmed = true
					}
				}
				if alarmed {
					flagged++
				}
				if cleanAlarmed {
					clean++
				}
			}
			if flagged > 1 {
				t.Errorf("%s after a gap of %v: %d of %d seeds alarm in the first hour on ordinary values (without the gap %d), want at most 1",
					f.name, time.Duration(gap)*step, flagged, seeds, clean)
			}
		}
	}
}

// TestGapKeepsAnExtraordinaryValue: after the same gaps, a value that would be extraordinary
// anyway is still flagged on the first point the exporter sends: a spike 10 of the family's
// noise scales up (bench/synth's spike) on at least half the seeds of each family (without the
// gap 19 or 20 of 20), and a drop to zero on a busy series on every seed but one. A series that
// was silent is not excused: the point is judged by the forecast that knows the time passed
// (the clock-indexed profile, in its own unit), not by none. Not judging the point at all fails
// it (CPU spikes 4 and 3 of 20, bench/nab/DECISIONS.md round 51).
func TestGapKeepsAnExtraordinaryValue(t *testing.T) {
	const seeds, hour = 20, 12
	spike := map[string]func(i int, x float64) float64{
		"records": func(_ int, x float64) float64 { return x * 1.5 }, // 10 × its 5% scale
		"cpu":     func(_ int, x float64) float64 { return x + 20 },  // 10 × its 2 points
		"latency": func(i int, x float64) float64 { return x * math.Exp(10*(0.02+0.18*userLoad(i))) },
	}
	zero := func(int, float64) float64 { return 0 }
	for _, f := range userFamilies {
		for _, gap := range []int{2 * hour, pointsPerDay} {
			for _, c := range []struct {
				name string
				at   func(i int, x float64) float64
				want int
			}{{"a spike", spike[f.name], seeds / 2}, {"a drop to zero", zero, seeds - 1}} {
				flagged := 0
				for seed := uint64(1); seed <= seeds; seed++ {
					at := 21*pointsPerDay + rand.New(rand.NewPCG(seed, 0x0a5e7)).IntN(7*pointsPerDay)
					xs := f.gen(seed, at+gap+1)
					xs[at+gap] = c.at(at+gap, xs[at+gap])
					d := New(DefaultConfig())
					for i, x := range xs {
						if i >= at && i < at+gap {
							continue // the exporter is down
						}
						if r := d.Observe(t0.Add(time.Duration(i)*step), x); i == at+gap && r.Alarm {
							flagged++
						}
					}
				}
				if flagged < c.want {
					t.Errorf("%s, %s on the first point after a gap of %v: flagged on %d of %d seeds, want at least %d",
						f.name, c.name, time.Duration(gap)*step, flagged, seeds, c.want)
				}
			}
		}
	}
}

// TestSubSecondSeriesStaysFinite: a series sampled several times a second has whole-second
// timestamps (Unix seconds) that mostly repeat. Measured against itself, its usual interval
// shrank toward 0, every new second became a gap of ever more intervals, and the level's gain
// overflowed to NaN (after 521 s at 20 Hz: found in review after round 51). The interval is now
// never below a second: no point is a gap, and every Result stays finite.
func TestSubSecondSeriesStaysFinite(t *testing.T) {
	d := New(DefaultConfig())
	const hz = 20
	for i, x := range series(900*hz, 3, flat) {
		r := d.Observe(t0.Add(time.Duration(i)*time.Second/hz), x)
		if !finite(r.Score, r.Expected, r.Lower, r.Upper) {
			t.Fatalf("point %d (%v s in): %+v", i, i/hz, r)
		}
	}
	if d.fc.step < 0 || math.IsNaN(d.fc.level) {
		t.Errorf("after 900 s at %d Hz: interval %v s, level %v", hz, d.fc.step, d.fc.level)
	}
}

// TestLatePointMakesNoGap: a point that arrives with an earlier timestamp (a late, out-of-order
// point) spaces 0 from the latest one, and the next on-time point is spaced from the latest, not
// from the late one: it is no gap (before the fix, a point an hour late made the next one, 5
// minutes on, a gap of 13 intervals).
func TestLatePointMakesNoGap(t *testing.T) {
	var f forecast
	now := t0.Unix()
	for range 50 {
		if _, gap := f.gap(now); gap {
			t.Fatalf("on-time point at %d: a gap", now)
		}
		now += 300
	}
	if _, gap := f.gap(now - 3600); gap {
		t.Error("the late point is a gap")
	}
	if k, gap := f.gap(now); gap {
		t.Errorf("the next on-time point is a gap of %.1f intervals", k)
	}
}

// TestIntervalAcrossTheInt64Range: a spacing wider than an int64 holds (a point dated in the
// year -1.8e9, then one in 2.9e11, which time.Time represents) is a long spacing, not a
// negative one. Taken as now−last in int64 it wrapped around to −9.2e18 seconds, the usual
// interval went negative, and the detector's own snapshot was refused on restore
// ("negative scale or rate"; FuzzDetector's testdata/fuzz/FuzzDetector/0dab5beef7ebe91f).
func TestIntervalAcrossTheInt64Range(t *testing.T) {
	d := New(DefaultConfig())
	for i, at := range []int64{-58493811630788560, 9164878225223987248, math.MaxInt64, math.MinInt64, math.MaxInt64} {
		d.Observe(time.Unix(at, 0), 100)
		if d.fc.step < 0 {
			t.Fatalf("point %d, at %d: usual interval %v s, want ≥ 0", i, at, d.fc.step)
		}
	}
	roundTrip(t, d)
}

// TestGapAfterHugeValuesKeepsAFiniteBand: a series whose values are near ±maxValue (a deviation
// near 1e300) and whose next point comes after a spacing of 9e18 of its 1-second intervals (to
// the year 2.9e11, which time.Time holds): the gap rule widens the plain level's spread by
// √(1 + (k − 1)α²), 3e8 here, and the band of bandZ such deviations overflowed to ±Inf
// (FuzzDetector in round 114's review, testdata/fuzz/FuzzDetector/1b15ca582aa781d8). maxValue
// leaves a factor of about 10^8 over the values' differences, and this spread goes beyond it.
func TestGapAfterHugeValuesKeepsAFiniteBand(t *testing.T) {
	d := New(DefaultConfig())
	for i := range 30 {
		d.Observe(time.Unix(int64(i), 0), math.Copysign(maxValue, float64(i%2)-0.5))
	}
	r := d.Observe(time.Unix(9e18, 0), 100)
	if !(finite(r.Expected, r.Lower, r.Upper) && r.Lower <= r.Expected && r.Expected <= r.Upper) {
		t.Errorf("after the gap: band %v ≤ %v ≤ %v", r.Lower, r.Expected, r.Upper)
	}
	roundTrip(t, d)
}
