package anomaly_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline/anomaly"
	"github.com/weirstream/weir/pipeline/anomaly/anomalytest"
)

// TestSnapshotsOfExtremeSeriesRestore: the decoder's bounds on a snapshot's numbers (snapshot.go)
// must hold for every state the detector reaches, or a restart drops the series' history. Each
// series here runs at the ends of what the detector learns (values at 1e-300 and at ±1e300, a
// jump across the whole range, ±1e200 alternating, a profile pushed by ±1e300 at each new
// half-hour), with gaps and points out of order, or one a second, under the default and the
// smallest settings, young (young.go: its trend kept) for its first week of points, about 2,000
// at 5 minutes and all 3,000 at one a second, and restored at each of its first 25 points and
// every 250th after; every restore must be accepted and the restored detector's results
// bit-identical to those of one never restored.
func TestSnapshotsOfExtremeSeriesRestore(t *testing.T) {
	const n = 3000
	noisy := func(scale float64) func(r *rand.Rand, i int) float64 {
		return func(r *rand.Rand, i int) float64 {
			return scale * (1 + 0.3*math.Sin(2*math.Pi*float64(i)/288) + 0.1*r.NormFloat64())
		}
	}
	series := map[string]func(r *rand.Rand, i int) float64{
		"tiny":          noisy(1e-300),
		"huge":          noisy(1e250),
		"largest":       func(r *rand.Rand, _ int) float64 { return 1e300 * (1 - 0.2*r.Float64()) },
		"zero":          func(*rand.Rand, int) float64 { return 0 },
		"negative":      noisy(-1e6),
		"constant":      func(*rand.Rand, int) float64 { return 42 },
		"alternating":   func(_ *rand.Rand, i int) float64 { return 1e200 * float64(1-2*(i%2)) },
		"extremes":      func(_ *rand.Rand, i int) float64 { return 1e300 * float64(1-2*(i%2)) },
		"uniform":       func(r *rand.Rand, _ int) float64 { return 1e300 * (2*r.Float64() - 1) },
		"tiny to large": func(r *rand.Rand, i int) float64 { return noisy(1e-300)(r, i) + 1e300*float64(i/1500) },
		// At one point per 5 minutes a new half-hour comes every 6 points: −1e300 on the last
		// point of a slot, +1e300 on the first of the next, to push each new slot's profile
		// further from the baseline.
		"profile push": func(_ *rand.Rand, i int) float64 {
			if i%6 == 0 {
				return 1e300
			}
			return -1e300
		},
		"tiny and huge": func(r *rand.Rand, i int) float64 {
			if r.IntN(50) == 0 {
				return 1e300
			}
			return noisy(1e-300)(r, i)
		},
	}
	small := anomaly.DefaultConfig()
	small.WarmUp, small.Memory, small.Quiet = 1, 10, 1
	for name, gen := range series {
		for _, cfg := range []anomaly.Config{anomaly.DefaultConfig(), small} {
			for _, timing := range []string{"regular", "gaps", "out of order", "one a second"} {
				r := rand.New(rand.NewPCG(1, 2))
				pts := make([]anomalytest.Point, n)
				at := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
				for i := range pts {
					at = at.Add(5 * time.Minute)
					switch {
					case timing == "one a second":
						// All n points in the series' first hour, the young series' trend
						// kept and restored at every restore point.
						at = at.Add(-5*time.Minute + time.Second)
					case timing == "gaps" && i%400 == 399:
						at = at.Add(time.Duration(r.IntN(72)) * time.Hour)
					case timing == "out of order" && i%7 == 3:
						at = at.Add(-time.Duration(r.IntN(60)) * time.Minute)
					}
					pts[i] = anomalytest.Point{T: at, V: gen(r, i)}
				}
				for _, count := range []bool{false, true} {
					if err := anomalytest.Restores(cfg, pts, count, anomalytest.Often); err != nil {
						t.Errorf("%s, memory %d, %s, count %t: %v", name, cfg.Memory, timing, count, err)
					}
				}
			}
		}
	}
}

// TestYoungHeldSettingRestores: two things a new series meets in its first week read state a
// restore must bring back exactly: the young series' trend, which lowers what a young point
// reports (young.go), and the novelty level a repeated value keeps (novelty.go), which is the
// level an earlier point was given, not the value's. bench/synth's
// series change only from their fourth week and are restored every 250th point, and NAB's rarely
// repeat, so neither reaches a young series restored in the middle of a held run. Here a setting
// added at the start and changed for good a third of the way into its first week (back at 16 for
// five points two thirds in), at 5- and 1-minute windows, and small counts (a mean of 0.5) held
// at 9 for a day from day three, are restored before every point: each restore is accepted and
// the results are bit-identical to a detector never restored.
func TestYoungHeldSettingRestores(t *testing.T) {
	every := func(int) bool { return true }
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	for _, spacing := range []time.Duration{5 * time.Minute, time.Minute} {
		week := int(7 * 24 * time.Hour / spacing)
		for _, to := range []float64{17, 8} {
			pts := make([]anomalytest.Point, week+week/4)
			for i := range pts {
				v := 16.0
				switch {
				case i >= 2*week/3 && i < 2*week/3+5:
				case i >= week/3:
					v = to
				}
				pts[i] = anomalytest.Point{T: t0.Add(time.Duration(i) * spacing), V: v}
			}
			for _, count := range []bool{false, true} {
				if err := anomalytest.Restores(anomaly.DefaultConfig(), pts, count, every); err != nil {
					t.Errorf("16 -> %v at %v windows, count %t: %v", to, spacing, count, err)
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(3, 87))
	pts := make([]anomalytest.Point, 2500)
	for i := range pts {
		v := 0.0
		for range 5 {
			if r.Float64() < 0.1 {
				v++
			}
		}
		if i >= 2*288 && i < 3*288 {
			v = 9
		}
		pts[i] = anomalytest.Point{T: t0.Add(time.Duration(i) * 5 * time.Minute), V: v}
	}
	if err := anomalytest.Restores(anomaly.DefaultConfig(), pts, true, every); err != nil {
		t.Errorf("small counts held at 9: %v", err)
	}
}

// TestHeldRunRestores: whether a point holds a run's price (bench/nab/DECISIONS.md 446: the stops
// channel between the run lengths it re-prices, the stuck channel past its gate, is no report) is
// read from the runs the snapshot keeps (zeros.run, stuck.run, stuck.held, stuck.longest), so a
// detector restored in the middle of a held run must report exactly as one never restored. Records
// of a stream with a daily shape (one point per 5 minutes), three weeks to learn in, then a value
// stuck for a week and, two days after, a stop of a week: on this seed, before 446, the stall's
// held price was reported (Peak) again every ~85 points from 250 repeats and the stop's from
// 1,121 zeros, so both runs hold points that 446 keeps from reporting. As Observe and as
// ObserveCount, restored before every point of both runs and of the Quiet points after each:
// every restore is accepted and every result and the final snapshot are bit-identical to a
// detector never restored.
func TestHeldRunRestores(t *testing.T) {
	const day = 288
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) // a Monday
	quiet := anomaly.DefaultConfig().Quiet
	stall, free := 21*day+100, 28*day+100
	stop, back := free+2*day, free+9*day
	r := rand.New(rand.NewPCG(109, 446))
	pts := make([]anomalytest.Point, back+day)
	for i := range pts {
		h := float64(i%day) / day * 24
		m := 20000 * (0.35 + 0.65*(0.5+0.5*math.Sin(2*math.Pi*(h-10)/24)))
		v := math.Round(m + math.Sqrt(m+0.05*0.05*m*m)*r.NormFloat64())
		switch {
		case i >= stall && i < free:
			v = pts[stall-1].V
		case i >= stop && i < back:
			v = 0
		}
		pts[i] = anomalytest.Point{T: t0.Add(time.Duration(i) * 5 * time.Minute), V: v}
	}
	during := func(i int) bool {
		return (i >= stall && i <= free+quiet) || (i >= stop && i <= back+quiet)
	}
	for _, count := range []bool{false, true} {
		if err := anomalytest.Restores(anomaly.DefaultConfig(), pts, count, during); err != nil {
			t.Errorf("count %t: %v", count, err)
		}
	}
}

// TestPagedStopRestores: whether a run of zeros has been reported at even odds, which silences the
// pattern channel at its later zeros (zeros.told; bench/nab/DECISIONS.md 467, 468), is kept in the
// snapshot, so a detector restored in the middle of a stop that has been told must report exactly
// as one never restored. The series of TestSmallCountStopIsNotAPattern (Poisson counts of means 3
// and 10, a day's stop from a uniform point of the fourth week, 20 seeds), through ObserveCount,
// restored before every point of each stop's first Quiet points: before 467, pattern pages after a
// stop's first report at even odds fell there (2 to 32 zeros), and without the field a restored
// detector would page them again.
func TestPagedStopRestores(t *testing.T) {
	const day = 288
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) // a Monday
	quiet := anomaly.DefaultConfig().Quiet
	poisson := func(r *rand.Rand, lam float64) float64 {
		l, k, p := math.Exp(-lam), 0, 1.0
		for {
			if p *= r.Float64(); p <= l {
				return float64(k)
			}
			k++
		}
	}
	for _, lam := range []float64{3, 10} {
		for seed := uint64(1); seed <= 20; seed++ {
			r := rand.New(rand.NewPCG(seed, 1110))
			at := 21*day + rand.New(rand.NewPCG(seed, 1111)).IntN(7*day)
			pts := make([]anomalytest.Point, at+day+quiet)
			for i := range pts {
				v := poisson(r, lam)
				if i >= at && i < at+day {
					v = 0
				}
				pts[i] = anomalytest.Point{T: t0.Add(time.Duration(i) * 5 * time.Minute), V: v}
			}
			during := func(i int) bool { return i >= at && i <= at+quiet }
			if err := anomalytest.Restores(anomaly.DefaultConfig(), pts, true, during); err != nil {
				t.Errorf("mean %v seed %d: %v", lam, seed, err)
			}
		}
	}
}
