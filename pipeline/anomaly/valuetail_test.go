package anomaly

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// nightly is a flat series with a one-point spike of 30 noise deviations at the same hour every
// night (a nightly job on a CPU that otherwise idles: bench/nab's ec2_cpu_utilization_c6585a).
func nightly(i int) float64 {
	if i%pointsPerDay == 40 {
		return 130
	}
	return 100
}

// TestRoutineNightlySpikeNotAlarmed: once the series has made its nightly trip on schedule for
// a few nights, the spike is routine and raises no alarm, while a spike twice as high, to a
// level it has never visited, does. A schedule needs three trips (two gaps) before the one it
// judges; the first night's spike, on a series 40 points old, lands in another bin of the value
// tail (its spread still young), so the fifth night (4) is the first a schedule can speak for.
func TestRoutineNightlySpikeNotAlarmed(t *testing.T) {
	const days, spikeAt = 21, 20*pointsPerDay + 150
	day := pointsPerDay
	var routine, nights int
	for seed := uint64(1); seed <= 10; seed++ {
		xs := series(days*day, seed, nightly)
		xs[spikeAt] = 160
		rs := run(t, xs)
		for d := 4; d < days; d++ {
			nights++
			if rs[d*day+40].Alarm {
				routine++
			}
		}
		checkDetected(t, rs, "a spike to a new height", spikeAt, 0)
	}
	t.Logf("nightly spikes alarmed from the fifth night: %d of %d", routine, nights)
	if routine > nights/20 {
		t.Errorf("%d of %d routine nightly spikes alarmed, want at most %d", routine, nights, nights/20)
	}
}

// TestRoutineSpikeOffScheduleAlarmed: the nightly job's height reached at noon, off its
// schedule, is not bounded by how often the series goes there: it scores well above the
// routine spike of the night before (which is bounded) and its Reason is the deviation.
// (Measured over 10 seeds: about 0.46 against 0.36, an alarm at the default alarm_score on
// most; the residual's own curve has learned that 30-deviation spikes happen daily.)
func TestRoutineSpikeOffScheduleAlarmed(t *testing.T) {
	const days = 12
	day := pointsPerDay
	offAt := (days-1)*day + 144 // noon of the last day
	for seed := uint64(1); seed <= 10; seed++ {
		xs := series(days*day, seed, nightly)
		xs[offAt] = 130
		rs := run(t, xs)
		night, noon := rs[(days-2)*day+40], rs[offAt]
		if noon.Score < night.Score+0.05 || noon.Reason != ReasonDeviation {
			t.Errorf("seed %d: the nightly height at noon scores %.3f (%v), the routine spike the night before %.3f: want at least 0.05 more, for the deviation",
				seed, noon.Score, noon.Reason, night.Score)
		}
	}
}

// TestIrregularSpikesStillAlarmed: spikes to the same height at irregular times (gaps of 0.7
// to 5.6 days) are not a schedule, and each one alarms however often the series has gone there.
func TestIrregularSpikesStillAlarmed(t *testing.T) {
	day := pointsPerDay
	at := []int{3 * day, 3*day + day*7/10, 8*day + day*6/10, 10*day + day*2/10, 15*day + day*8/10}
	for seed := uint64(1); seed <= 10; seed++ {
		xs := series(21*day, seed, flat)
		for _, i := range at {
			xs[i] = 130
		}
		rs := run(t, xs)
		for n, i := range at {
			checkDetected(t, rs, fmt.Sprintf("seed %d: irregular spike %d", seed, n+1), i, 0)
		}
	}
}

// TestValueTailBinOfAFarValue: a value farther from the centre than an int holds spreads is in
// the outermost bin on its side. Converted to int unclamped, the quotient is
// implementation-defined (math.MinInt64 on amd64): a value far above a series of zeros landed in
// the lowest bin.
func TestValueTailBinOfAFarValue(t *testing.T) {
	var vt valueTail
	for _, c := range []struct {
		v, c, w float64
		want    int
	}{
		{1e10, 0, 1e-9, 2*valueSpan - 1},
		{-1e10, 0, 1e-9, 0},
		{1e300, -1e300, 1e-9, 2*valueSpan - 1}, // an infinite quotient
		{-1e300, 1e300, 1e-9, 0},
		{1, 0, 1, valueSpan + 1},
		{math.NaN(), 0, 1, 0},
		{-1e300, -math.Inf(1), math.Inf(1), 0}, // a NaN quotient
	} {
		if got := vt.bin(c.v, c.c, c.w); got != c.want {
			t.Errorf("bin(%g, %g, %g) = %d, want %d", c.v, c.c, c.w, got, c.want)
		}
	}
}

// tailBound feeds xs (a series about 100 of spread 1, at step from t0) to a value tail alone
// and returns its bound at each point: +Inf where the point's trip is not on schedule. The
// guard below reads the schedule's judgement itself: whether the detector then pages a spike
// it does not bound depends on how often the series has reported spikes that large (the report
// curve), which a series spiking once a day teaches to discount them, bound or not.
func tailBound(xs []float64) []float64 {
	var vt valueTail
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = vt.observe(x, 100, 100, 1, 1.0/6000, 0, float64(t0.Add(time.Duration(i)*step).Unix()))
	}
	return out
}

// TestTwoChanceTripsAreNoSchedule: two spikes to the same height about a day apart by chance
// (gaps of 20 to 28 hours) and a third whose gap from the second differs from the first gap by
// four to eight hours: whatever two trips are taken to say of a schedule, the third is hours off
// it, and the value tail does not bound it (bench/synth's spikes: a coincidence of two trips must
// not silence the third). It passes on main (three trips make a schedule); under round 130's 490
// (a schedule from two trips, fenced at ½ of the mean gap) all 10 seeds are bounded
// (bench/nab/DECISIONS.md, round 133).
func TestTwoChanceTripsAreNoSchedule(t *testing.T) {
	hour := pointsPerDay / 24
	var bounded int
	for seed := uint64(1); seed <= 10; seed++ {
		rng := rand.New(rand.NewPCG(seed, 4))
		xs := series(7*pointsPerDay, seed, flat)
		first := 2*pointsPerDay + rng.IntN(pointsPerDay)
		gap := 20*hour + rng.IntN(8*hour+1)
		off := 4*hour + rng.IntN(4*hour+1)
		if rng.IntN(2) == 0 {
			off = -off
		}
		at := []int{first, first + gap, first + 2*gap + off}
		for _, i := range at {
			xs[i] = 130
		}
		if b := tailBound(xs)[at[2]]; !math.IsInf(b, 1) {
			bounded++
		}
	}
	if bounded > 0 {
		t.Errorf("a third spike hours off the gap of two chance spikes bounded as routine on %d of 10 seeds, want none", bounded)
	}
}

// TestWanderingStartStaysOnSchedule: a nightly job that starts anywhere between 03:00 and 04:05
// (bench/nab's c6585a's runs 03:04-04:09) is on schedule every night once its schedule is known,
// including a start 65 minutes later than the night before: a fence as tight as an hour reported
// such nights (round 133's 499, which fails this test, 80 of 110 unbounded; a two-hour fence judged
// modulo the period with its floor cut to an hour fails it too, 51 of 110; round 136).
func TestWanderingStartStaysOnSchedule(t *testing.T) {
	day := pointsPerDay
	const days = 16
	var bad, runs int
	for seed := uint64(1); seed <= 10; seed++ {
		rng := rand.New(rand.NewPCG(seed, 5))
		xs := series(days*day, seed, flat)
		at := make([]int, days)
		for d := range days {
			at[d] = d*day + 36 + rng.IntN(14) // 03:00 to 04:05
			if d%4 == 2 {
				at[d] = d*day + 36 // an early start after a late one, and a late after an early
			} else if d%4 == 3 {
				at[d] = d*day + 49
			}
			xs[at[d]] = 130
		}
		bs := tailBound(xs)
		for d := 5; d < days; d++ {
			runs++
			if math.IsInf(bs[at[d]], 1) {
				bad++
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d runs of a job starting 03:00-04:05 not bounded as routine, want none", bad, runs)
	}
}

// TestShortScheduleOffTripNotRoutine: a job every four hours, on the dot for four days, then a
// spike 9.5 hours after its last run (2.4 periods: more than a third of a period off any run of
// the schedule) is not the job and is not bounded. Windows of two hours either side of every
// multiple of a four-hour period cover the whole line, so a fence judged modulo the period must
// not reach periods that short (round 136's 500 bounded it on 10 of 10 seeds; main's ½ ḡ takes
// only a gap within two hours of four).
func TestShortScheduleOffTripNotRoutine(t *testing.T) {
	const every = 48 // four hours
	var bounded int
	for seed := uint64(1); seed <= 10; seed++ {
		xs := series(5*pointsPerDay, seed, flat)
		last := 0
		for i := 20; i < 4*pointsPerDay; i += every {
			xs[i] = 130
			last = i
		}
		at := last + 114 // 9.5 hours
		xs[at] = 130
		if b := tailBound(xs)[at]; !math.IsInf(b, 1) {
			bounded++
		}
	}
	if bounded > 0 {
		t.Errorf("a spike 9.5 hours after the last run of a four-hourly job bounded as routine on %d of 10 seeds, want none", bounded)
	}
}
