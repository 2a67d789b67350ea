package anomaly

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// step is the sampling interval of the synthetic series: NAB's most common one.
const step = 5 * time.Minute

// pointsPerDay is a day of points at step (288).
const pointsPerDay = int(24 * time.Hour / step)

var t0 = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) // a Monday

// series is a synthetic test series: base(i) plus Gaussian noise of standard deviation 1.
func series(n int, seed uint64, base func(i int) float64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]float64, n)
	for i := range out {
		out[i] = base(i) + rng.NormFloat64()
	}
	return out
}

// run feeds xs to a fresh default detector and returns every result.
func run(t testing.TB, xs []float64) []Result { return runWith(t, xs, (*Detector).Observe) }

// runWith feeds xs to a fresh default detector through observe (Observe or ObserveCount).
func runWith(t testing.TB, xs []float64, observe func(*Detector, time.Time, float64) Result) []Result {
	t.Helper()
	d := New(DefaultConfig())
	rs := make([]Result, len(xs))
	for i, x := range xs {
		rs[i] = observe(d, t0.Add(time.Duration(i)*step), x)
	}
	return rs
}

// alarms returns the indices of the points that raised an alarm.
func alarms(rs []Result) []int {
	var out []int
	for i, r := range rs {
		if r.Alarm {
			out = append(out, i)
		}
	}
	return out
}

// flaggedWithin returns the first alarm in [at, at+delay], or -1.
func flaggedWithin(rs []Result, at, delay int) int {
	for i := at; i <= at+delay && i < len(rs); i++ {
		if rs[i].Alarm {
			return i
		}
	}
	return -1
}

// checkDetected fails unless the anomaly starting at point at raises an alarm within delay
// points.
func checkDetected(t *testing.T, rs []Result, what string, at, delay int) {
	t.Helper()
	if flaggedWithin(rs, at, delay) < 0 {
		var best float64
		for _, r := range rs[at:min(at+delay+1, len(rs))] {
			best = max(best, r.Score)
		}
		t.Errorf("%s at %d: no alarm within %d points (best score %.3f, alarm_score %v)",
			what, at, delay, best, DefaultConfig().AlarmScore)
	}
}

func flat(int) float64 { return 100 }

// The three anomalies the issue names, in one series, each flagged within its stated delay: a
// spike of 12 deviations on the point itself, a level shift of 6 deviations within 6 points,
// and activity that stops (a drop to zero that stays there) on the point itself. Each is
// more than Quiet points after the one before, so each must raise its own alarm. (Measured
// over 20 seeds: the spike and the stop always on the point, the shift within 0 to 5.)
func TestScriptedAnomaliesFlagged(t *testing.T) {
	const spike, shift, stop = 1500, 2000, 2600
	for seed := uint64(1); seed <= 5; seed++ {
		xs := series(3000, seed, func(i int) float64 {
			switch {
			case i >= stop:
				return 0
			case i >= shift:
				return 106
			}
			return 100
		})
		xs[spike] += 12
		for i := stop; i < len(xs); i++ {
			xs[i] = 0 // activity stops: exactly zero, no noise
		}
		rs := run(t, xs)
		checkDetected(t, rs, "spike", spike, 0)
		checkDetected(t, rs, "level shift", shift, 6)
		checkDetected(t, rs, "drop to zero", stop, 0)
		if r := rs[spike]; r.Reason != ReasonDeviation {
			t.Errorf("seed %d: spike flagged for reason %v, want %v", seed, r.Reason, ReasonDeviation)
		}
		// The band holds the spike outside it, around the level before it.
		if r := rs[spike]; r.Upper >= xs[spike] || r.Expected < 99 || r.Expected > 101 {
			t.Errorf("seed %d: spike point: expected %.2f, band [%.2f, %.2f], value %.2f: want the value above a band around 100",
				seed, r.Expected, r.Lower, r.Upper, xs[spike])
		}
		// The expectation follows the new level instead of alarming forever.
		if e := rs[stop-1].Expected; math.Abs(e-106) > 1 {
			t.Errorf("seed %d: expected %.2f long after the shift, want ~106", seed, e)
		}
		// One excursion, few alarms, each stronger than the last: after its first alarm an
		// anomaly raises another only by scoring higher than every point since. A level shift
		// keeps producing new contexts as the new level lasts (1, 2, 4, 8 points at a level
		// never seen), so it may escalate a few times (measured over 20 seeds: at most 4; a
		// spike 1).
		for _, at := range []int{spike, shift, stop} {
			n, last := 0, 0.0
			for i, r := range rs[at : at+DefaultConfig().Quiet] {
				if !r.Alarm {
					continue
				}
				n++
				if r.Score <= last {
					t.Errorf("seed %d: alarm %d points after the anomaly at %d scores %.3f, not above the earlier %.3f",
						seed, i, at, r.Score, last)
				}
				last = r.Score
			}
			if n > 5 {
				t.Errorf("seed %d: %d alarms in the %d points after the anomaly at %d, want at most 5", seed, n, DefaultConfig().Quiet, at)
			}
		}
	}
}

// poisson draws a Poisson(lam) count.
func poisson(r *rand.Rand, lam float64) float64 {
	l, k, p := math.Exp(-lam), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return float64(k)
		}
		k++
	}
}

// TestActivityStopsOnBurstyCounts: counts whose bursts (2% of points, 5× the mean) make the
// forecaster's band wide, so that zero is only a few deviations below the level; then the
// activity stops. The zeros channel re-evaluates a run at 1, 2, 4, … zeros; it flags the stop
// by the time the run is 16 points long on all but at most one of these ten series, and by 32
// on every one (measured over 40 seeds: 14 to 15 points on 37, 31 on 3; before records, 31 on
// 2, one of them here: λ=10 seed 4, where the records the bursts set in the series' first days
// taught the report curve that its large reports are common, and the stop scores 0.449 at 16
// zeros against alarm_score 0.45). The detector before issue 21 missed all 10.
//
// The counts are counts: observed as such (ObserveCount) the same holds. Measured: every stop
// flagged within 15 points but λ=10 seed 4 (31), as through Observe.
func TestActivityStopsOnBurstyCounts(t *testing.T) {
	for _, path := range observePaths {
		t.Run(path.name, func(t *testing.T) { activityStopsOnBurstyCounts(t, path.run) })
	}
}

func activityStopsOnBurstyCounts(t *testing.T, run func(testing.TB, []float64) []Result) {
	const stop = 2000
	late := 0
	for _, lam := range []float64{3, 10} {
		for seed := uint64(1); seed <= 5; seed++ {
			r := rand.New(rand.NewPCG(seed, 9))
			xs := make([]float64, 2200)
			for i := range xs[:stop] {
				xs[i] = poisson(r, lam)
				if r.Float64() < 0.02 {
					xs[i] += poisson(r, 5*lam)
				}
			}
			rs := run(t, xs)
			what := fmt.Sprintf("λ=%v seed %d: activity stops", lam, seed)
			checkDetected(t, rs, what, stop, 31)
			if flaggedWithin(rs, stop, 15) < 0 {
				late++
			}
			if i := flaggedWithin(rs, stop, 31); i >= 0 && rs[i].Reason != ReasonStopped {
				t.Errorf("%s: flagged for reason %v, want %v", what, rs[i].Reason, ReasonStopped)
			}
		}
	}
	if late > 1 {
		t.Errorf("%d of 10 stops flagged later than 15 points, want at most 1", late)
	}
}

// TestStuckValueIsAPattern: a noisy series whose value freezes (an exporter that died and
// repeats its last value) is flagged although every value is inside its band, and the alarm
// says why: the shape is new, not the value. Measured: 7 of 10 seeds, within 15 points.
func TestStuckValueIsAPattern(t *testing.T) {
	const stuck, delay, seeds = 3000, 20, 10
	flagged := 0
	for seed := uint64(1); seed <= seeds; seed++ {
		xs := series(stuck+200, seed, flat)
		for i := stuck; i < len(xs); i++ {
			xs[i] = 100
		}
		rs := run(t, xs)
		i := flaggedWithin(rs, stuck, delay)
		if i < 0 {
			continue
		}
		flagged++
		if r := rs[i]; r.Reason != ReasonPattern || xs[i] < r.Lower || xs[i] > r.Upper {
			t.Errorf("seed %d: stuck value %.1f flagged at %d for reason %v with band [%.2f, %.2f], want %v inside the band",
				seed, xs[i], i, r.Reason, r.Lower, r.Upper, ReasonPattern)
		}
	}
	if flagged < 7 {
		t.Errorf("a stuck value flagged within %d points in %d of %d series, want at least 7", delay, flagged, seeds)
	}
}

// TestConstantSeriesStaysQuiet: a metric that has had one value since its first point (a
// configured limit, a replica count) is not stuck, it is what that metric is: two weeks of it
// raise no alarm. Before body.go the pattern channel reported each doubling of the run as a new
// context and alarmed at 1,024 and 2,048 points (0.553 and 0.677).
func TestConstantSeriesStaysQuiet(t *testing.T) {
	xs := make([]float64, 14*pointsPerDay)
	for i := range xs {
		xs[i] = 45
	}
	if got := alarms(run(t, xs)); len(got) > 0 {
		t.Errorf("a constant series alarmed at %v, want no alarm", got)
	}
}

// TestSpikeReturnIsNotAPattern: a spike on white noise is one event. The points after it, back
// at ordinary values, are not a second one named a pattern: before body.go the spike's level,
// still in the novelty context, made the return to normal a new shape, and 2 to 5 points after
// spikes of 10 deviations the pattern channel alarmed after 8 of 60 spikes, often above the
// spike. A point of the return can still be a pattern alarm when its own value lies outside
// the series' p10–p90 (1 of 60 with body.go): at most 3 in 60.
func TestSpikeReturnIsNotAPattern(t *testing.T) {
	spikes := []int{1000, 1500, 2000, 2500, 3000, 3500}
	var after []string
	spiked := 0
	for seed := uint64(1); seed <= 10; seed++ {
		xs := series(14*pointsPerDay, seed, flat)
		for _, at := range spikes {
			xs[at] += 10
		}
		rs := run(t, xs)
		for _, at := range spikes {
			spiked++
			for i := at + 1; i <= at+10; i++ {
				if rs[i].Alarm && rs[i].Reason == ReasonPattern {
					after = append(after, fmt.Sprintf("seed %d: %d after the spike at %d (%.3f)", seed, i-at, at, rs[i].Score))
					break
				}
			}
		}
	}
	if len(after) > 3 {
		t.Errorf("pattern alarms on the return from %d of %d spikes, want at most 3: %v", len(after), spiked, after)
	}
}

func TestReasonString(t *testing.T) {
	seen := map[string]bool{}
	for r := ReasonNone; r <= ReasonRecord; r++ {
		s := r.String()
		if seen[s] {
			t.Errorf("reason %d writes %q, as another reason does", r, s)
		}
		seen[s] = true
	}
	if got := Reason(200).String(); got != "none" {
		t.Errorf("an unknown reason writes %q, want none", got)
	}
}

func TestTrendChange(t *testing.T) {
	xs := series(3000, 3, func(i int) float64 {
		if i >= 2000 {
			return 100 + 0.5*float64(i-2000)
		}
		return 100
	})
	checkDetected(t, run(t, xs), "trend", 2000, 30)
}

func TestVarianceChange(t *testing.T) {
	xs := series(3000, 4, flat)
	rng := rand.New(rand.NewPCG(44, 1))
	for i := 2000; i < len(xs); i++ {
		xs[i] = 100 + 6*rng.NormFloat64()
	}
	checkDetected(t, run(t, xs), "variance change", 2000, 30)
}

// daily is a clean daily cycle with an amplitude of 20 noise deviations.
func daily(i int) float64 {
	return 100 + 20*math.Sin(2*math.Pi*float64(i)/float64(pointsPerDay))
}

// falseAlarms is the rate of alarms per point on seeds clean series made by base.
func falseAlarms(t *testing.T, seeds, points int, base func(int) float64, each func(i int)) float64 {
	var n int
	for seed := uint64(300); seed < 300+uint64(seeds); seed++ {
		for _, i := range alarms(run(t, series(points, seed, base))) {
			n++
			if each != nil {
				each(i)
			}
		}
	}
	return float64(n) / float64(seeds*points)
}

// maxFalseAlarms is the stated false-alarm rate at the default alarm_score: at most one alarm per
// 700 points of a series without anomalies (white noise or a clean daily cycle), and
// maxYoungFalseAlarms in a series' first 1000 points, whose tails are not yet learned. Measured
// over 40 seeds of 10,000 points: 0.91e-3 on white noise and 0.44e-3 on a daily cycle, 2.70e-3 and
// 0.35e-3 in their first 1000 points (round 95; 0.94e-3 and 0.78e-3, 2.93e-3 and 2.65e-3 when this
// was first written; 1.34e-3 and 0.83e-3, 3.37e-3 and 2.65e-3 before the body gate of body.go, when
// most of the noise's came from the novelty channel's rare new contexts).
const (
	maxFalseAlarms      = 1.5e-3
	maxYoungFalseAlarms = 3.5e-3
)

func TestWhiteNoiseFalseAlarmRate(t *testing.T) {
	if rate := falseAlarms(t, 10, 10000, flat, nil); rate > maxFalseAlarms {
		t.Errorf("%.2g alarms per point of white noise, want <= %.2g", rate, maxFalseAlarms)
	}
}

func TestDailySeasonalityNoFalseAlarm(t *testing.T) {
	// The cycle itself must never look anomalous: alarms on a clean daily series may only be
	// the noise-driven ones every series gets, at the same low rate, and never recurring at
	// the same time of day, which is what a seasonal false alarm does. The rate counts every
	// point after the 10-point warm-up; the time-of-day check starts on day 2, because on its
	// first day a series has not seen the cycle yet, and every seed is at the cycle's steepest
	// hour at the same time.
	const days, seeds = 14, 10
	perSlot := map[int]int{} // alarms per hour of day from day 2 on, over all seeds
	rate := falseAlarms(t, seeds, days*pointsPerDay, daily, func(i int) {
		if i >= pointsPerDay {
			perSlot[i%pointsPerDay/12]++
		}
	})
	if rate > maxFalseAlarms {
		t.Errorf("%.2g alarms per point of clean daily series, want <= %.2g", rate, maxFalseAlarms)
	}
	for hour, k := range perSlot {
		if k > 8 { // random alarms spread over 24 hours; a recurring one would add ~days × seeds
			t.Errorf("%d alarms at hour %d across %d clean series: the cycle itself alarms", k, hour, seeds)
		}
	}

	xs := series(days*pointsPerDay, 5, daily)
	rs := run(t, xs)
	// After a week the expectation follows the cycle within the noise.
	var sum float64
	for i := 7 * pointsPerDay; i < len(xs); i++ {
		sum += math.Abs(rs[i].Expected - daily(i))
	}
	if mae := sum / float64(len(xs)-7*pointsPerDay); mae > 1.5 {
		t.Errorf("mean |expected - cycle| %.2f over the second week, want <= 1.5", mae)
	}
}

func TestDailySeasonalityMissedCycle(t *testing.T) {
	// The cycle fails to happen on day 10 (the series stays at its mean), then resumes.
	xs := series(14*pointsPerDay, 6, func(i int) float64 {
		if i >= 10*pointsPerDay && i < 11*pointsPerDay {
			return 100
		}
		return daily(i)
	})
	rs := run(t, xs)
	var got []int
	for _, i := range alarms(rs) {
		if i >= 10*pointsPerDay-72 {
			got = append(got, i)
		}
	}
	if len(got) == 0 || got[0] < 10*pointsPerDay || got[0] > 10*pointsPerDay+72 {
		t.Fatalf("alarms from 6 hours before the missed cycle on at %v, want the first within 6 hours of it at %d", got, 10*pointsPerDay)
	}
}

// TestLaterStrongerExcursion: a much stronger spike 10 points after a clear one is its own
// alarm: de-duplication reports any point that scores higher than every score of the last
// Quiet points, however close. After an extreme excursion the series' report rate at extreme
// levels is one in 12,000 points and the curves flatten up to the largest surprise seen; a
// second excursion scores beyond that at the nominal slope (tailcurve.go): +5 then +40
// deviations gives 0.77 then 0.99 (0.91 before decision 247).
func TestLaterStrongerExcursion(t *testing.T) {
	xs := series(3000, 7, flat)
	xs[2000] += 5
	xs[2010] += 40
	rs := run(t, xs)
	if !rs[2010].Alarm {
		t.Errorf("the stronger spike 10 points after a weaker one: %+v, want an alarm", rs[2010])
	}
}

// TestYoungSeriesLaterStrongerExcursion: the demo's bursting tenant, as a failed CI run recorded
// it (its 5xx count per 1-second window; no point where the tenant was not listed). The deploy
// that doubles every tenant's errors makes its 12th point a 7 against an expected 1.6, reported
// (0.886 under decision 247; whether it alarms is not this test's business: a count of 7 at an
// expectation of 1.7 is a 1-in-500 Poisson value, which on 1-second windows comes by chance every
// few minutes); three points later its own burst, 79, must alarm above it, not be hidden by it.
// Before decision 247 the first report flattened the residual's and the report curve's upper
// levels, and the burst, eleven times the value, scored 0.592 and was no report.
//
// The tenant's series is a count (its rule aggregates on Count), so the analyzer observes it as
// one (ObserveCount): the same must hold there. Measured: the 7 scores 0.933 through Observe and
// 0.384 as a count (its Poisson tail, 6.2 nats), the 79 an alarm on both.
func TestYoungSeriesLaterStrongerExcursion(t *testing.T) {
	xs := []float64{2, 2, 2, 2, 1, 1, 2, 2, 1, 1, 2, 7, 3, 1, 79, 60, 4, 3, 13, 1, 3}
	const first, burst = 11, 14
	for _, path := range observePaths {
		rs := path.run(t, xs)
		if !rs[first].Peak {
			t.Errorf("%s: the doubling: %+v, want a report", path.name, rs[first])
		}
		if !rs[burst].Alarm || rs[burst].Score <= rs[first].Score {
			t.Errorf("%s: the burst after the doubling's report (%.3f): %+v, want an alarm above it", path.name, rs[first].Score, rs[burst])
		}
		t.Logf("%s: the 7 scores %.3f, the 79 %.3f (alarm %v)", path.name, rs[first].Score, rs[burst].Score, rs[burst].Alarm)
	}
}

func TestDeduplication(t *testing.T) {
	// A flapping incident: equal spikes every 10 points for 300 points raise an alarm on the
	// first and few after it (only a spike scored higher than every one since Quiet points),
	// while every spike keeps its score.
	xs := series(3000, 7, flat)
	for i := 2000; i < 2300; i += 10 {
		xs[i] += 15
	}
	rs := run(t, xs)
	checkDetected(t, rs, "first spike", 2000, 0)
	var alarmed, anomalous int
	for _, r := range rs[2000:2300] {
		if r.Alarm {
			alarmed++
		}
		if r.Score >= DefaultConfig().AlarmScore {
			anomalous++
		}
	}
	if alarmed > 3 {
		t.Errorf("%d alarms in a flapping incident of 30 equal spikes, want at most 3", alarmed)
	}
	if anomalous < 5 {
		t.Errorf("%d anomalous points in the incident, want >= 5 (de-dup must not hide the score)", anomalous)
	}
}

func TestWarmUpSilence(t *testing.T) {
	cfg := DefaultConfig()
	xs := series(cfg.WarmUp+1, 8, flat)
	for i := 20; i < cfg.WarmUp; i += 37 {
		xs[i] += 50
	}
	d := New(cfg)
	for i, x := range xs[:cfg.WarmUp] {
		r := d.Observe(t0.Add(time.Duration(i)*step), x)
		if r.Warm || r.Alarm || r.Score != 0 {
			t.Fatalf("point %d in warm-up: %+v, want not warm, no score, no alarm", i, r)
		}
	}
	if r := d.Observe(t0, xs[cfg.WarmUp]); !r.Warm {
		t.Fatalf("point after warm-up: %+v, want warm", r)
	}
}

func finite(xs ...float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

func TestScoreRange(t *testing.T) {
	// Extreme values: scores stay in [0, 1] and results stay finite.
	xs := series(2000, 10, flat)
	xs[900], xs[901], xs[1200], xs[1500] = math.MaxFloat64, -math.MaxFloat64, 1e300, 0
	for i, r := range run(t, xs) {
		if r.Score < 0 || r.Score > 1 || math.IsNaN(r.Score) {
			t.Fatalf("point %d: score %v outside [0, 1]", i, r.Score)
		}
		if !finite(r.Expected, r.Lower, r.Upper) {
			t.Fatalf("point %d: expected %v, band [%v, %v], want finite", i, r.Expected, r.Lower, r.Upper)
		}
	}
}

func TestSlots(t *testing.T) {
	for _, tc := range []struct {
		at         time.Time
		week, slot int
	}{
		{time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), 0, 0},                    // Monday
		{time.Date(2026, 1, 10, 12, 29, 59, 0, time.UTC), 1, 24},               // Saturday
		{time.Date(2026, 1, 11, 23, 59, 0, 0, time.UTC), 1, 47},                // Sunday
		{time.Date(1969, 12, 31, 23, 30, 0, 0, time.UTC), 0, 47},               // Wednesday, before 1970
		{time.Date(2026, 1, 9, 23, 0, 0, 0, time.FixedZone("x", -3600)), 1, 0}, // Saturday 00:00 UTC
		{time.Date(1969, 12, 28, 1, 0, 0, 0, time.UTC), 1, 2},                  // Sunday, before 1970
	} {
		w, s := slots(tc.at)
		if w != tc.week || s != tc.slot {
			t.Errorf("slots(%v) = %d, %d, want %d, %d", tc.at, w, s, tc.week, tc.slot)
		}
	}
}

// TestHugeValuesAreNotLearned: a NaN or infinite value, and one beyond ±maxValue
// (math.MaxFloat64, which some exporters write for +Inf, or a garbage 1e305), handled as an
// infinite one, get no score, a finite expectation, and leave the state untouched. Learned, it overflowed the differences the detector
// takes (v − level, v − centre) to ±Inf and then NaN, the series scored NaN for good, and its
// snapshot was refused on restore.
func TestHugeValuesAreNotLearned(t *testing.T) {
	xs := series(1500, 9, flat)
	clean := run(t, xs)

	d := New(DefaultConfig())
	for i, x := range xs {
		at := t0.Add(time.Duration(i) * step)
		if i%100 == 50 {
			for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64, 1e305, -math.Nextafter(maxValue, math.Inf(1))} {
				for _, r := range []Result{d.Observe(at, bad), d.ObserveCount(at, bad)} {
					if r.Alarm || r.Score != 0 || !finite(r.Expected, r.Lower, r.Upper) {
						t.Fatalf("point %d: %v gave %+v, want finite expectation, no score", i, bad, r)
					}
				}
			}
		}
		if r := d.Observe(at, x); r != clean[i] {
			t.Fatalf("point %d after a value beyond ±%g: %+v, want %+v (state must be untouched)", i, maxValue, r, clean[i])
		}
	}
	roundTrip(t, d)
}
