package anomaly

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// The user-like series of bench/synth (its README, "The series"), written again here so that the
// package's tests do not depend on the benchmark: one point per 5-minute window, a daily shape
// from a trough at 04:00 UTC to a peak at 16:00 (about 3:1) and weekends at 60% of weekdays.

// userLoad is that traffic shape, in [0.21, 1]; t0 is a Monday.
func userLoad(i int) float64 {
	h := float64(i%pointsPerDay) / float64(pointsPerDay) * 24
	return userLoadAt(h, i/pointsPerDay%7 >= 5)
}

// userLoadAt is the shape at hour h of a weekday or a weekend day.
func userLoadAt(h float64, weekend bool) float64 {
	s := 0.35 + 0.65*(0.5+0.5*math.Sin(2*math.Pi*(h-10)/24))
	if weekend {
		s *= 0.6
	}
	return s
}

// userFamily is a kind of series a platform team watches: gen returns one seed's series.
type userFamily struct {
	name string
	gen  func(seed uint64, n int) []float64
}

// userFamilies are three of bench/synth's families, none of which repeats a value by itself:
// records per window of a stream (a whole number near 20,000 × load, a 5% coefficient of
// variation), a CPU gauge in percent (25 + 35 × load, a slow wander and ±2 per window) and a
// p99 latency in ms (log-normal around 120 × (1 + 0.5 × load)).
var userFamilies = []userFamily{
	{"records", func(seed uint64, n int) []float64 {
		r := rand.New(rand.NewPCG(seed, 41))
		xs := make([]float64, n)
		for i := range xs {
			m := 20000 * userLoad(i)
			xs[i] = math.Round(m + math.Sqrt(m+0.05*0.05*m*m)*r.NormFloat64())
		}
		return xs
	}},
	{"cpu", func(seed uint64, n int) []float64 {
		r := rand.New(rand.NewPCG(seed, 42))
		xs := make([]float64, n)
		w := 5 * r.NormFloat64()
		for i := range xs {
			w = 0.995*w + 0.5*r.NormFloat64()
			xs[i] = math.Min(100, math.Max(0, 25+35*userLoad(i)+w+2*r.NormFloat64()))
		}
		return xs
	}},
	{"latency", func(seed uint64, n int) []float64 {
		r := rand.New(rand.NewPCG(seed, 43))
		xs := make([]float64, n)
		for i := range xs {
			s := userLoad(i)
			xs[i] = 120 * (1 + 0.5*s) * math.Exp((0.02+0.18*s)*r.NormFloat64())
		}
		return xs
	}},
}

// stalledUserSeries returns seed's series of f with its value stuck from a uniform point of the
// fourth week (after three weeks to learn in, Memory; so at any hour of any day) for n points, and
// that onset: an exporter that died and repeats its last value.
func stalledUserSeries(f userFamily, seed uint64, n int) ([]float64, int) {
	at := 21*pointsPerDay + rand.New(rand.NewPCG(seed, 0x0a5e7)).IntN(7*pointsPerDay)
	xs := f.gen(seed, at+n)
	for i := at; i < len(xs); i++ {
		xs[i] = xs[at-1]
	}
	return xs, at
}

// TestStuckValueOnUserSeries: an exporter that dies and repeats its last value, on series with
// a daily shape, is flagged within an hour (12 points: a change that lasts is worth a page
// within the hour, bench/synth's delay for it) on at least 8 of 10 seeds of each family, and
// the stall is one event: at most one alarm in its first Quiet points (a stall that lasts is
// one episode, not one per doubling of its run). The onset is at a uniform point of the fourth
// week, after three weeks to learn in (Memory), so it falls at any hour of any day. Before
// the stuck-value channel (bench/nab/DECISIONS.md, rounds 42 and 43: 317, 318) it was flagged on
// 0 (records), 0 (CPU) and 2 (latency) of 10 seeds, and latency seed 1 alarmed twice: the
// forecaster's plain level soon predicts the frozen value, and the novelty model's levels are
// too wide on a daily shape for a run at one value to be a new context.
func TestStuckValueOnUserSeries(t *testing.T) {
	const seeds, delay = 10, 12
	quiet := DefaultConfig().Quiet
	for _, f := range userFamilies {
		t.Run(f.name, func(t *testing.T) {
			flagged := 0
			for seed := uint64(1); seed <= seeds; seed++ {
				xs, at := stalledUserSeries(f, seed, pointsPerDay)
				rs := run(t, xs)
				if i := flaggedWithin(rs, at, delay); i >= 0 {
					flagged++
				}
				var again []int
				for i := at; i < at+quiet; i++ {
					if rs[i].Alarm {
						again = append(again, i-at)
					}
				}
				if len(again) > 1 {
					t.Errorf("seed %d: the stall alarmed %d times in its first %d points (at %v after its onset), want one event",
						seed, len(again), quiet, again)
				}
			}
			if flagged < 8 {
				t.Errorf("a stuck %s series flagged within %d points in %d of %d seeds, want at least 8",
					f.name, delay, flagged, seeds)
			}
		})
	}
}

// TestSettingHeldAfterAChangeStaysQuiet: a setting (a replica count) that changes for one window
// and goes back is a series where repeats are the rule: holding its value again for twice as
// long as it ever has is what a setting does, not a stall. After the change's own event, no
// alarm. The stuck-value channel as first shipped (bench/nab/DECISIONS.md 317) alarmed 5 to 6
// times in a row once the new run passed twice the old one (after a change at point 2,000 or
// 2,500; none at 500 or 1,000, whose doubling came before the report curve let the price reach
// alarm_score). 318 prices no run where repeats are the rule.
func TestSettingHeldAfterAChangeStaysQuiet(t *testing.T) {
	for _, change := range []int{500, 1000, 2000, 2500} {
		d := New(DefaultConfig())
		var again []int
		for i := 0; i < 3*change+2000; i++ {
			v := 16.0
			if i == change {
				v = 17
			}
			if r := d.Observe(t0.Add(time.Duration(i)*step), v); r.Alarm && i > change+1 {
				again = append(again, i-change)
			}
		}
		if len(again) > 0 {
			t.Errorf("a setting changed for one window at point %d alarmed %d times after, first %d points after the change",
				change, len(again), again[0])
		}
	}
}

// TestSettingChangedAndHeldIsOneEvent: a setting reported every window (a replica count, 16) that
// is changed for good — by one either way, doubled or halved — is one event, its change: at most
// one alarm in the week after, at any age past the first Memory/3 points and at 5-minute or
// 1-minute windows; and a second change later, the same step again, is still flagged within the
// hour. Round 74 found main paging four more times within two days after such a
// change, on every size, from about 2,000 points of age on: the pattern channel, in pairs about
// 250 and 500 points after it (bench/nab/DECISIONS.md, round 79).
func TestSettingChangedAndHeldIsOneEvent(t *testing.T) {
	const from = 16.0
	steps := []struct{ to, then float64 }{{17, 18}, {15, 14}, {32, 48}, {8, 4}}
	for _, spacing := range []time.Duration{5 * time.Minute, time.Minute} {
		week := int(7 * 24 * time.Hour / spacing)
		hour := int(time.Hour / spacing)
		// The second change comes 10,080 points after the first (a week of 1-minute windows): a
		// change a week after the first one of 5-minute windows is missed on main when it stays
		// within the range the series has produced (0.42 to 0.448), since the residual's tail curve
		// has learned the first change's re-settling (round 74), which this test is not about.
		const secondAfter = 10080
		for _, age := range []int{2500, 6000, 12500} {
			for _, s := range steps {
				d := New(DefaultConfig())
				second := age + secondAfter
				var after []int
				flagged := false
				for i := 0; i < second+hour; i++ {
					v := from
					switch {
					case i >= second:
						v = s.then
					case i >= age:
						v = s.to
					}
					r := d.Observe(t0.Add(time.Duration(i)*spacing), v)
					switch {
					case r.Alarm && i >= age && i < age+week:
						after = append(after, i-age)
					case r.Alarm && i >= second:
						flagged = true
					}
				}
				name := fmt.Sprintf("%v -> %v held from point %d (%v windows)", from, s.to, age, spacing)
				if len(after) > 1 {
					t.Errorf("%s: %d alarms in the week after the change, at %v points after it; want one, its change",
						name, len(after), after)
				}
				if !flagged {
					t.Errorf("%s: the second change, to %v %d points later, not flagged within the hour", name, s.then, secondAfter)
				}
			}
		}
	}
}

// repeatingFamilies are series where repeats are the rule (at least bodyShare of their points
// repeat the one before) whose values still move, the kinds round 79's held level (401) acts on
// besides a setting: a tenant's errors per window (a mean of 2 at the peak following the user
// load, bursty: a negative binomial of shape 0.5, as bench/synth's errors family, which repeats
// the value before on about half its points), a count that is zero most of the time (one event
// in 20 windows) and a coarse gauge (whole numbers, 25 + 35 × load and ±1 per window: about a
// quarter of its points repeat).
var repeatingFamilies = []userFamily{
	{"errors", func(seed uint64, n int) []float64 {
		r := rand.New(rand.NewPCG(seed, 44))
		xs := make([]float64, n)
		for i := range xs {
			z := r.NormFloat64() // a gamma of shape 0.5 and mean 1 is z²
			xs[i] = poisson(r, 2*userLoad(i)*z*z)
		}
		return xs
	}},
	{"mostly zero", func(seed uint64, n int) []float64 {
		r := rand.New(rand.NewPCG(seed, 45))
		xs := make([]float64, n)
		for i := range xs {
			if r.Float64() < 0.05 {
				xs[i] = 1
			}
		}
		return xs
	}},
	{"coarse gauge", func(seed uint64, n int) []float64 {
		r := rand.New(rand.NewPCG(seed, 46))
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = math.Round(25 + 35*userLoad(i) + r.NormFloat64())
		}
		return xs
	}},
}

// TestHeldLevelOnSeriesOfRepeats: on series where repeats are the rule but values move (small
// counts, a count that is zero most of the time, a coarse gauge), a value outside the series'
// range held for a day (a tenant's errors stuck at 16 a window, a zero-most count at 1 or 3, a
// gauge 25 above its peak or 10 below its trough) is one event: flagged within the hour on at
// least 8 of 10 seeds, and no alarm from the hour after its onset to the end of the day it is
// held, though the novelty level the held value keeps (401) is the one its first point was given,
// against a reference that has long moved towards it. The onset is at a uniform point of the
// fourth week. Before 401 the reference's walk paged 100 to 520 points into the hold
// (bench/nab/DECISIONS.md, round 81). A stuck value and a stop on these series are
// not this test's: each falls above bodyShare (about 0.37, 0.90 and 0.27), where the stuck
// channel does not judge a run (318) and a run of zeros is the stops channel's.
func TestHeldLevelOnSeriesOfRepeats(t *testing.T) {
	const seeds, delay = 10, 12
	holds := map[string][]float64{"errors": {16}, "mostly zero": {1, 3}, "coarse gauge": {85, 15}}
	for _, f := range repeatingFamilies {
		for _, to := range holds[f.name] {
			t.Run(fmt.Sprintf("%s at %v", f.name, to), func(t *testing.T) {
				flagged := 0
				for seed := uint64(1); seed <= seeds; seed++ {
					at := 21*pointsPerDay + rand.New(rand.NewPCG(seed, 0x0a5e7)).IntN(7*pointsPerDay)
					xs := f.gen(seed, at+pointsPerDay)
					for i := at; i < len(xs); i++ {
						xs[i] = to
					}
					observe := (*Detector).ObserveCount
					if f.name == "coarse gauge" {
						observe = (*Detector).Observe // a gauge is not a count
					}
					rs := runWith(t, xs, observe)
					if flaggedWithin(rs, at, delay) >= 0 {
						flagged++
					}
					var later []int
					for i := at + delay + 1; i < len(rs); i++ {
						if rs[i].Alarm {
							later = append(later, i-at)
						}
					}
					if len(later) > 0 {
						t.Errorf("seed %d: %d alarms from the hour after the onset to the end of the hold, at %v points after it; want one event",
							seed, len(later), later)
					}
				}
				if flagged < 8 {
					t.Errorf("flagged within %d points in %d of %d seeds, want at least 8", delay, flagged, seeds)
				}
			})
		}
	}
}

// TestStopIsNotAPattern: a series that rarely repeats a value (records, a CPU gauge, a latency)
// and stops, reporting zeros for two days from its fourth week, is flagged within the hour on
// every seed, and no alarm from the hour after its onset to its end names the pattern channel: the
// stop is the stops channel's news (zeros.go), and a zero held is a value that has not moved. The
// novelty level a repeated value keeps (novelty.go) holds on every series (bench/nab/DECISIONS.md
// 431); while it held only where repeats are the rule, the reference's walk towards the zeros
// paged as a pattern 339 to 500 points into the stop (the CPU: 14 of 20 seeds), before the stop's
// own repeats made repeats the rule there.
func TestStopIsNotAPattern(t *testing.T) {
	const seeds, at, stop, delay = 20, 21 * pointsPerDay, 2 * pointsPerDay, 12
	for _, f := range userFamilies {
		var flagged int
		var pattern []string
		for seed := uint64(1); seed <= seeds; seed++ {
			xs := f.gen(seed, at+stop)
			for i := at; i < len(xs); i++ {
				xs[i] = 0
			}
			rs := run(t, xs)
			if flaggedWithin(rs, at, delay) >= 0 {
				flagged++
			}
			for i := at + delay + 1; i < len(rs); i++ {
				if rs[i].Alarm && rs[i].Reason == ReasonPattern {
					pattern = append(pattern, fmt.Sprintf("seed %d at %d", seed, i-at))
				}
			}
		}
		if flagged < seeds {
			t.Errorf("%s: the stop flagged within %d points on %d of %d seeds, want all", f.name, delay, flagged, seeds)
		}
		if len(pattern) > 0 {
			t.Errorf("%s: %d pattern alarms from the hour after the onset (%v), want none", f.name, len(pattern), pattern)
		}
	}
}

// TestStuckValueIsOneEvent: a sensor that sticks at an ordinary value on a series that never
// repeats is news once (TestStuckValueIsAPattern), not again each time its run doubles. The
// novelty context counts the run at the current level so that a value stuck for longer than
// usual is a new shape; a run that has outlasted Quiet is the same episode, and its doublings
// are not new shapes (bench/nab/DECISIONS.md 297, 301). Before 297, 18 of 20 seeds alarmed a
// second time 250 to 255 points into the stall, at the run's doubling to 256.
func TestStuckValueIsOneEvent(t *testing.T) {
	const stall = 3000
	quiet := DefaultConfig().Quiet
	var again []string
	for seed := uint64(1); seed <= 20; seed++ {
		xs := series(6000, seed, flat)
		for i := stall; i < len(xs); i++ {
			xs[i] = 100
		}
		rs := run(t, xs)
		for i := stall + quiet; i < len(rs); i++ {
			if rs[i].Alarm {
				again = append(again, fmt.Sprintf("seed %d: %d points into the stall (%.3f, %v)",
					seed, i-stall, rs[i].Score, rs[i].Reason))
				break
			}
		}
	}
	if len(again) > 1 {
		t.Errorf("a stuck value alarmed again after Quiet points on %d of 20 seeds, want at most 1: %v",
			len(again), again)
	}
}

// TestLongStuckValuePagesOnce: a value stuck for a week on a series with a daily shape (an
// exporter that died and repeats its last value) is one incident: the stuck channel holds the
// run's price from its gate to the run's end (stuck.go), so from Quiet points into the run, past
// what TestStuckValueOnUserSeries asks of its first Quiet points, it pages at most once more on
// every seed. Before round 98 the held price paged again every 82–85
// points on records once the channel's curve had settled, as the report curve's rates decayed
// since the last report: up to 22 times in the week, more than once on 10 of 20 seeds (bench/nab/DECISIONS.md, round 98).
func TestLongStuckValuePagesOnce(t *testing.T) {
	const seeds, stall = 20, 7 * pointsPerDay
	quiet := DefaultConfig().Quiet
	for _, f := range userFamilies {
		var storms []string
		for seed := uint64(1); seed <= seeds; seed++ {
			xs, at := stalledUserSeries(f, seed, stall)
			rs := run(t, xs)
			var again []string
			for i := at + quiet; i < len(rs); i++ {
				if rs[i].Alarm {
					again = append(again, fmt.Sprintf("%d %v %.4f", i-at, rs[i].Reason, rs[i].Score))
				}
			}
			if len(again) > 1 {
				storms = append(storms, fmt.Sprintf("seed %d: %d %v", seed, len(again), again))
			}
		}
		if len(storms) > 0 {
			t.Errorf("%s: a value stuck for a week alarmed more than once from Quiet points into the run on %d of %d seeds, want none: %v",
				f.name, len(storms), seeds, storms)
		}
	}
}

// TestRunUnderWayAtWarmUpPages: a run that reaches its price while the detector warms up (a longer
// anomaly.warm_up than the default's 10 points) is reported when warm-up ends, as any excursion
// under way then is: the first warm point is the first the report rule judges (peaks.go sees no
// point before it), so nothing has been paged at the run's price. A value that stalls from point
// 30 (its gate, 11 repeats, in warm-up) alarms at the first warm point, with warm-up 50 and 100;
// a stop from point 30 alarms there with warm-up 100 (at 71 zeros; with warm-up 50 its first
// warm point, at 21 zeros, scores below the alarm, as before 446). Records, CPU and latency, 10
// seeds each. Under 446 as first shipped the first warm point held the run's price (the stall past
// its gate, 71 zeros between doublings) and was no report: the stall was paged only a day in,
// where the young series' residual spoke, on 20, 19 and 14 of 20 seeds (records, CPU, latency),
// and the stop waited for 128 zeros (round 102; this test fails there on every case).
func TestRunUnderWayAtWarmUpPages(t *testing.T) {
	const seeds, start = 10, 30
	for _, c := range []struct {
		warmUp int
		stop   bool
	}{{50, false}, {100, false}, {100, true}} {
		cfg := DefaultConfig()
		cfg.WarmUp = c.warmUp
		why := ReasonPattern
		if c.stop {
			why = ReasonStopped
		}
		for _, f := range userFamilies {
			var missed []uint64
			for seed := uint64(1); seed <= seeds; seed++ {
				xs := f.gen(seed, 2*pointsPerDay)
				for i := start; i < start+pointsPerDay; i++ {
					if c.stop {
						xs[i] = 0
					} else {
						xs[i] = xs[start-1]
					}
				}
				d := New(cfg)
				var r Result
				for i, x := range xs[:c.warmUp+1] {
					r = d.Observe(t0.Add(time.Duration(i)*step), x)
				}
				if !r.Warm || !r.Alarm || r.Reason != why {
					missed = append(missed, seed)
				}
			}
			if len(missed) > 0 {
				t.Errorf("warm-up %d, %s, %v from point %d: no %v alarm at the first warm point on seeds %v",
					c.warmUp, f.name, why, start, why, missed)
			}
		}
	}
}

// TestStallAfterSpikePages: an exporter that dies right after a load spike and repeats its last
// value is paged once the spike has left the report rule's window. A value stuck for two days
// from 5, 20 or 60 points after a spike of 10 scales (records, CPU, latency; 20 seeds each): the
// stall's gate (11 repeats) falls while the spike is in the Quiet window, so the gate is no report.
// By the spike's point + Quiet + two blocks of peaks.go (the window is exact to one block; the
// second is the margin of the block the gate lies in) the stall must be reported (a Peak with
// reason pattern) on at least 17 of 20 seeds in every case, and alarm with reason pattern on at
// least alarmed[f] of 20: 18 for records and CPU (a stall with no spike before it pages at its gate
// on 19–20 of 20), 12 for latency, whose gate after the spike's report scores 0.446–0.4499 on a few
// seeds, just under AlarmScore: that is the stuck channel's price after a report, which the report
// rule does not set (rounds 107 and 115). And it alarms with reason pattern at most twice in the
// stall (that page and at most once more). Round 102 found it paged on 0–2 of 20 in every case:
// the masked gate's price was held and a held price is never a report (bench/nab/DECISIONS.md 446;
// 460, rounds 107 and 115).
func TestStallAfterSpikePages(t *testing.T) {
	const seeds, stall, reported = 20, 2 * pointsPerDay, 17
	alarmed := map[string]int{"records": 18, "cpu": 18, "latency": 12}
	cfg := DefaultConfig()
	by := cfg.Quiet + 2*((cfg.Quiet+peakBlocks-1)/peakBlocks)
	for _, f := range userFamilies {
		want, ok := alarmed[f.name]
		if !ok {
			t.Fatalf("no bound for family %s", f.name)
		}
		for _, gap := range []int{5, 20, 60} {
			var peaks, paged int
			var missed, storms []string
			for seed := uint64(1); seed <= seeds; seed++ {
				xs, at := stalledUserSeries(f, seed, stall)
				spikeAt := at - gap
				xs[spikeAt] += spikeOfScales(f.name, spikeAt, 10)
				rs := run(t, xs)
				peak, first, n := -1, -1, 0
				for i := at; i < len(rs); i++ {
					if rs[i].Reason != ReasonPattern {
						continue
					}
					if rs[i].Peak && peak < 0 {
						peak = i
					}
					if rs[i].Alarm {
						if first < 0 {
							first = i
						}
						n++
					}
				}
				if peak >= 0 && peak <= spikeAt+by {
					peaks++
				}
				switch {
				case first >= 0 && first <= spikeAt+by:
					paged++
				case first >= 0:
					missed = append(missed, fmt.Sprintf("seed %d: first at %d", seed, first-at))
				default:
					missed = append(missed, fmt.Sprintf("seed %d: never", seed))
				}
				if n > 2 {
					storms = append(storms, fmt.Sprintf("seed %d: %d", seed, n))
				}
			}
			t.Logf("%s, spike %d points before the stall: reported on %d, alarmed on %d of %d", f.name, gap, peaks, paged, seeds)
			if peaks < reported {
				t.Errorf("%s, spike %d points before the stall: reported by %d points after the spike on %d of %d seeds, want at least %d",
					f.name, gap, by, peaks, seeds, reported)
			}
			if paged < want {
				t.Errorf("%s, spike %d points before the stall: alarmed by %d points after the spike on %d of %d seeds, want at least %d: %v",
					f.name, gap, by, paged, seeds, want, missed)
			}
			if len(storms) > 0 {
				t.Errorf("%s, spike %d points before the stall: more than two pattern alarms in the stall: %v", f.name, gap, storms)
			}
		}
	}
}

// spikeOfScales is k of the family's scales at point i: records' 5% of their load's mean, CPU's ±2,
// latency's log-normal spread at that load (bench/synth's spikes, round 102's probe).
func spikeOfScales(name string, i int, k float64) float64 {
	s := userLoad(i)
	switch name {
	case "records":
		return k * 0.05 * 20000 * s
	case "cpu":
		return k * 2
	}
	return k * 120 * (1 + 0.5*s) * (0.02 + 0.18*s)
}

// TestOwedStallRestores: a stall's owed report and whether it has been paged (stuck.owed,
// stuck.paged; decision 470) are kept in the snapshot, so a detector restored while a stall masked
// by a spike is owed its page, or just after it was paged, reports exactly as one never restored.
// The series of TestStallAfterSpikePages (a spike of 10 scales 5, 20 or 60 points before a stall;
// records, CPU, latency; 3 seeds) under the default settings, Quiet 10 and 300 and Memory 1000,
// restored before every point from the spike to Quiet + two blocks past the stall's gate. Without
// either field a restored detector pages the stall again, or at a lower price than the one owed
// (the test fails with stuck.owed or stuck.paged left out of fields).
func TestOwedStallRestores(t *testing.T) {
	settings := map[string]func(*Config){
		"default":     func(*Config) {},
		"quiet 10":    func(c *Config) { c.Quiet = 10 },
		"quiet 300":   func(c *Config) { c.Quiet = 300 },
		"memory 1000": func(c *Config) { c.Memory = 1000 },
	}
	for name, set := range settings {
		cfg := DefaultConfig()
		set(&cfg)
		until := cfg.Quiet + 2*((cfg.Quiet+peakBlocks-1)/peakBlocks)
		var owed, paged int // restores taken with a report owed, and with the stall paged
		for _, f := range userFamilies {
			for _, gap := range []int{5, 20, 60} {
				for seed := uint64(1); seed <= 3; seed++ {
					xs, at := stalledUserSeries(f, seed, 2*pointsPerDay)
					spikeAt := at - gap
					xs[spikeAt] += spikeOfScales(f.name, spikeAt, 10)
					ref, cur := New(cfg), New(cfg)
					for i, x := range xs {
						if i >= spikeAt && i <= at+minEvidence+until {
							if cur.stuck.owed > 0 {
								owed++
							}
							if cur.stuck.paged {
								paged++
							}
							cur = roundTrip(t, cur)
						}
						ti := t0.Add(time.Duration(i) * step)
						if want, got := ref.Observe(ti, x), cur.Observe(ti, x); got != want {
							t.Fatalf("%s, %s seed %d, spike %d before the stall: point %d (%d into the stall) after restores: %+v, want %+v",
								name, f.name, seed, gap, i, i-at, got, want)
						}
					}
				}
			}
		}
		t.Logf("%s: %d restores with a report owed, %d with the stall paged", name, owed, paged)
		if owed == 0 || paged == 0 {
			t.Errorf("%s: %d restores with a report owed, %d with the stall paged: the test restores neither state", name, owed, paged)
		}
	}
}

// dwarfedNoise is a series whose daily shape dwarfs its noise (100 + 800 × load, noise 1% of the
// mean): a value held through the day drifts away from the seasonal forecast, and the residual may
// report a stall while its gate's report is owed (decision 480).
var dwarfedNoise = userFamily{"seasonal", func(seed uint64, n int) []float64 {
	r := rand.New(rand.NewPCG(seed, 45))
	xs := make([]float64, n)
	for i := range xs {
		m := 100 + 800*userLoad(i)
		xs[i] = m * (1 + 0.01*r.NormFloat64())
	}
	return xs
}}

// TestStallReportedOnceWhicheverChannelSpeaks: a stall is one page, whichever channel's name is on
// it (doc.go, decision 480). On a series whose daily shape dwarfs its noise (100 + 800 × load,
// noise 1% of the mean), a value held through the day drifts away from the seasonal forecast, and
// the residual may report it while its gate's report is owed (a larger excursion masked the gate).
// A report at least as high as the one owed pays the stall's page: the stall is not reported again
// as a pattern once the window has passed. Every stall is reported. Before 480, 3 of 50 stalls
// (seeds 2, 9, 33) were reported by the residual at or past the gate and again as a pattern 91-102
// points in.
func TestStallReportedOnceWhicheverChannelSpeaks(t *testing.T) {
	const seeds = 50
	shape := dwarfedNoise
	var twice, unreported []string
	for seed := uint64(1); seed <= seeds; seed++ {
		xs, at := stalledUserSeries(shape, seed, 2*pointsPerDay)
		d := New(DefaultConfig())
		reported, paid := false, -1
		for i, x := range xs {
			r := d.Observe(t0.Add(time.Duration(i)*step), x)
			if i < at || !r.Peak {
				continue
			}
			reported = true
			// A Peak at or past the gate (the stuck channel holds the run's price from there).
			if paid >= 0 && r.Reason == ReasonPattern {
				twice = append(twice, fmt.Sprintf("seed %d: %d and %d points in", seed, paid-at, i-at))
				break
			}
			if paid < 0 && d.stuck.held != 0 {
				paid = i
			}
		}
		if !reported {
			unreported = append(unreported, fmt.Sprintf("seed %d", seed))
		}
	}
	if len(twice) > 0 {
		t.Errorf("a stall reported again as a pattern after a report at or past its gate on %d of %d seeds: %v", len(twice), seeds, twice)
	}
	if len(unreported) > 0 {
		t.Errorf("a stall never reported on %d of %d seeds: %v", len(unreported), seeds, unreported)
	}
}

// TestYoungStallPaysWhatItOwes: a stall whose page is owed keeps the best report its price has had
// until it is paged (decision 470), a report of another channel pays it only when at least as high
// (480), and a series' first week lowers only the residual's part of a report (young.go), never an
// owed stall's (484). On young series (the stall at a uniform point of days 3 to 6), the three user
// families with a spike of 10 scales 5 or 30 points before the stall, masking its gate (20 seeds
// each), and dwarfedNoise with no spike (30 seeds; the residual reports the held value as it drifts
// from the daily shape), the report that pages the stall must be at least the report it owes: a
// lower one pages the stall below what it owed, and at an AlarmScore between the two the stall never
// alarms (the page is given; the held price is no news after). Before 484 (rounds 124 and 126) 122
// of 150 were paged below their owed report, some below the default AlarmScore while they owed at
// least it, and so never alarmed (32 at round 124's start, 14 at round 126's): the young
// report, the smaller of the point's score and the same score with the residual against the young
// trend, dropped the owed floor (109 of the 120 spiked), and 480 compared the point's score, not the
// young report given, with the owed one (13 of dwarfedNoise's 30 below, 5 with the floor alone).
// Every stall must also be paged within the day it is held.
func TestYoungStallPaysWhatItOwes(t *testing.T) {
	type stallCase struct {
		f     userFamily
		gap   int // points from the spike to the stall; 0: no spike
		seeds uint64
	}
	var cases []stallCase
	for _, f := range userFamilies {
		cases = append(cases, stallCase{f, 5, 20}, stallCase{f, 30, 20})
	}
	cases = append(cases, stallCase{dwarfedNoise, 0, 30})
	var under, unpaged []string
	lost, stalls := 0, 0
	for _, c := range cases {
		for seed := uint64(1); seed <= c.seeds; seed++ {
			stalls++
			at := 2*pointsPerDay + rand.New(rand.NewPCG(seed, 7)).IntN(4*pointsPerDay)
			xs := c.f.gen(seed, at+pointsPerDay)
			for i := at; i < len(xs); i++ {
				xs[i] = xs[at-1]
			}
			if c.gap > 0 {
				xs[at-c.gap] += spikeOfScales(c.f.name, at-c.gap, 10)
			}
			d := New(DefaultConfig())
			for i, x := range xs {
				paged, owed := d.stuck.paged, d.stuck.owed
				r := d.Observe(t0.Add(time.Duration(i)*step), x)
				if i == len(xs)-1 && !d.stuck.paged {
					unpaged = append(unpaged, fmt.Sprintf("%s spike %d seed %d", c.f.name, c.gap, seed))
				}
				if !paged && d.stuck.paged {
					if alarm := DefaultConfig().AlarmScore; r.Score < alarm && owed/(owed+scoreHalf) >= alarm {
						lost++
					}
					if r.Score < owed/(owed+scoreHalf) {
						under = append(under, fmt.Sprintf("%s spike %d seed %d: %.3f, owed %.3f", c.f.name, c.gap, seed, r.Score, owed/(owed+scoreHalf)))
					}
					break
				}
			}
		}
	}
	if len(under) > 0 {
		t.Errorf("%d of %d young stalls paged below the report they owed (%d of them below the default AlarmScore, owing at least it): %v", len(under), stalls, lost, under)
	}
	// A stall never paged is never paged below what it owes: without this, a detector that withheld
	// the page (480 comparing the report given, youth's minimum still dropping the owed floor: 122
	// of the 150 unpaged a day after the stall) would pass.
	if len(unpaged) > 0 {
		t.Errorf("%d of %d young stalls not paged in the day held: %v", len(unpaged), stalls, unpaged)
	}
}
