package anomaly

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestLongStopPagesItsDoublingsOnly: a series that stops for a week (a decommissioned host, a
// tenant that left, an exporter that died) pages its onset, its return, and, past the report
// rule's Quiet, each doubling of the run the stops channel re-prices (128, 256, 512 and 1,024
// zeros at 5-minute windows: the stop has lasted twice as long, 10 h, 21 h, 42 h, 85 h); nothing
// else. Between doublings the channel holds the run's price (zeros.go), and a page there is the
// same incident at the same price, paged again because the report curve's rates decayed since the
// last report: before round 98 about 11 such pages per stop, one every 82–85 points once the price
// held after 1,024 zeros (bench/nab/DECISIONS.md, rounds 94 and 98). From Quiet points after the
// onset (what comes within it is the onset's own excursion) until the return, every alarm must be
// at a run of zeros whose length is a power of two, so at most four. The onset is still flagged
// within the hour on every seed (the count on 19 of 20, as TestSmallCountsFirstZeros allows), and
// the return and a spike half a day after it (10 of the family's scales) alarm on at least as many
// seeds as before round 98 (every seed; the spike on 0, 0, 3 and 20 of 20: a week of zeros and the
// return leave the records and the CPU blind for days, round 89's blindness after a level change,
// which this test does not ask to fix, only not to worsen), on records, a CPU gauge and a latency
// (Observe) and a count of mean 3 (ObserveCount). The onset is at a uniform point of the fourth
// week, after three weeks to learn in (Memory). Round 94's TestLongStopIsOneIncident
// (anomaly94-proto), whose series and checks this reuses, asked for at most one alarm there.
func TestLongStopPagesItsDoublingsOnly(t *testing.T) {
	const seeds, stop, delay = 20, 7 * pointsPerDay, 12
	quiet := DefaultConfig().Quiet
	type family struct {
		name    string
		gen     func(seed uint64, n int) []float64
		spike   func(x float64, i int) float64 // the value 10 of the family's scales above x
		observe func(*Detector, time.Time, float64) Result
		onsets  int // seeds whose onset must be flagged within the hour
		spikes  int // seeds whose spike after the return must alarm: as many as before round 98
	}
	fams := []family{
		{"records", userFamilies[0].gen, func(x float64, i int) float64 { return x + 10*0.05*20000*userLoad(i) }, (*Detector).Observe, seeds, 0},
		{"cpu", userFamilies[1].gen, func(x float64, _ int) float64 { return x + 20 }, (*Detector).Observe, seeds, 0},
		{"latency", userFamilies[2].gen, func(x float64, i int) float64 {
			s := userLoad(i)
			return x + 10*120*(1+0.5*s)*(0.02+0.18*s)
		}, (*Detector).Observe, seeds, 3},
		{"count of mean 3", func(seed uint64, n int) []float64 {
			r := rand.New(rand.NewPCG(seed, 94))
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = poisson(r, 3)
			}
			return xs
		}, func(x float64, _ int) float64 { return x + 20 }, (*Detector).ObserveCount, seeds - 1, seeds},
	}
	for _, f := range fams {
		var onsets, returns, spikes, pages int
		var held []string
		for seed := uint64(1); seed <= seeds; seed++ {
			at := 21*pointsPerDay + rand.New(rand.NewPCG(seed, 940)).IntN(7*pointsPerDay)
			back := at + stop
			spike := back + 2*quiet
			xs := f.gen(seed, spike+pointsPerDay)
			for i := at; i < back; i++ {
				xs[i] = 0
			}
			xs[spike] = f.spike(xs[spike], spike)
			d := New(DefaultConfig())
			rs := make([]Result, len(xs))
			for i, x := range xs {
				rs[i] = f.observe(d, t0.Add(time.Duration(i)*step), x)
			}
			if flaggedWithin(rs, at, delay) >= 0 {
				onsets++
			}
			// The run of zeros starts at or before the stop: a count may have been zero just before.
			from := at
			for from > 0 && xs[from-1] == 0 {
				from--
			}
			var off []string
			for i := at + quiet; i < back; i++ {
				if !rs[i].Alarm {
					continue
				}
				pages++
				if k := i - from + 1; k&(k-1) != 0 { // k zeros so far
					off = append(off, fmt.Sprintf("%d %v %.4f", k, rs[i].Reason, rs[i].Score))
				}
			}
			if len(off) > 0 {
				held = append(held, fmt.Sprintf("seed %d: %v", seed, off))
			}
			if flaggedWithin(rs, back, delay) >= 0 {
				returns++
			}
			if rs[spike].Alarm {
				spikes++
			}
		}
		if onsets < f.onsets {
			t.Errorf("%s: the stop flagged within %d points on %d of %d seeds, want %d", f.name, delay, onsets, seeds, f.onsets)
		}
		if len(held) > 0 {
			t.Errorf("%s: alarms from Quiet points into the stop at a run length that is not a doubling on %d of %d seeds, want none (zeros, reason, score): %v",
				f.name, len(held), seeds, held)
		}
		if returns < seeds || spikes < f.spikes {
			t.Errorf("%s: the return flagged within %d points on %d of %d seeds, a spike after it on %d, want all and %d",
				f.name, delay, returns, seeds, spikes, f.spikes)
		}
		t.Logf("%s: onset %d, return %d, spike %d of %d; %d alarms from Quiet into the stops, %d seeds with one at a held length",
			f.name, onsets, returns, spikes, seeds, pages, len(held))
	}
}

// TestSmallCountStopIsNotAPattern: a small count (a tenant's records or errors per window, means 3
// and 10) that stops for a day from a uniform point of its fourth week pages its onset within the
// hour on as many seeds as when this was written, and no alarm after the stop's first report at
// even odds or better (a Peak scoring at least 0.5) names the pattern channel. The zeros are
// quantised at the level an ordinary low count has (or the one below it), and a run there that
// outlasts every run of low counts the series made is a context the novelty model has never seen at
// each doubling of its run bucket (8, 16, 32, 64 points, offset by the low counts just before the
// stop): before round 111 the pattern channel paged inside the first Quiet points on 16 of 20 seeds
// at mean 3 and 19 at mean 10, at run lengths the stops channel holds (7, 13–15, 25–31 zeros) or in
// place of its doublings (bench/nab/DECISIONS.md 466, 467, 468). A zero that continues a run already
// reported at even odds is the stops channel's evidence, priced at the run's doublings (zeros.go):
// the same incident, told again by a second channel. The pattern may be the stop's first such
// report (the stops channel's price for a short run can map below 0.5, and then the pattern's is the
// onset's only page). Counted from a report at 0.5, a level of the score's own scale, not from the
// first alarm, which moves with AlarmScore (TestScoresDoNotDependOnAlarmScore). No seed is allowed
// one, since the zeros are the same on every seed; what varies is only the level the reference
// gives them.
func TestSmallCountStopIsNotAPattern(t *testing.T) {
	const seeds, delay = 20, 12
	for _, c := range []struct {
		lam    float64
		onsets int // seeds whose onset is flagged within the hour when this was written
	}{{3, 18}, {10, 19}} {
		var onsets, alarms int
		var pattern []string
		for seed := uint64(1); seed <= seeds; seed++ {
			xs, at := smallCountStop(seed, c.lam)
			rs := runCount(t, xs)
			if flaggedWithin(rs, at, delay) >= 0 {
				onsets++
			}
			told := false
			for i := at; i < at+pointsPerDay; i++ {
				if rs[i].Alarm {
					alarms++
					if told && rs[i].Reason == ReasonPattern {
						pattern = append(pattern, fmt.Sprintf("seed %d at %d zeros (%.3f)", seed, i-at+1, rs[i].Score))
					}
				}
				if rs[i].Peak && rs[i].Score >= 0.5 {
					told = true
				}
			}
		}
		if onsets < c.onsets {
			t.Errorf("mean %v: the stop flagged within %d points on %d of %d seeds, want at least %d", c.lam, delay, onsets, seeds, c.onsets)
		}
		if len(pattern) > 0 {
			t.Errorf("mean %v: %d pattern alarms after the stop's first report at 0.5 or more (%v), want none", c.lam, len(pattern), pattern)
		}
		t.Logf("mean %v: onset within the hour on %d of %d; %d alarms inside the stops, %d of them pattern after the stop's first report at 0.5",
			c.lam, onsets, seeds, alarms, len(pattern))
	}
}

// smallCountStop is TestSmallCountStopIsNotAPattern's series: Poisson counts of mean lam, zero for
// a day from a uniform point at of the fourth week, and a day after the stop.
func smallCountStop(seed uint64, lam float64) (xs []float64, at int) {
	r := rand.New(rand.NewPCG(seed, 1110))
	at = 21*pointsPerDay + rand.New(rand.NewPCG(seed, 1111)).IntN(7*pointsPerDay)
	xs = make([]float64, at+2*pointsPerDay)
	for i := range xs {
		xs[i] = poisson(r, lam)
	}
	for i := at; i < at+pointsPerDay; i++ {
		xs[i] = 0
	}
	return xs, at
}

// TestScoresDoNotDependOnAlarmScore: AlarmScore decides which reports are alarms and nothing else
// (doc.go: it is the only threshold). A detector's every Result but Alarm is the same under
// AlarmScore 0.3, 0.45 and 0.7, on series whose stops page and whose pattern channel is silenced
// at a stop's continuing zeros once the run has been reported at even odds (bench/nab/DECISIONS.md
// 468; round 111's 467 silenced it once the run had alarmed, so a lower AlarmScore silenced it
// sooner and the scores moved with the setting): TestSmallCountStopIsNotAPattern's series, five
// seeds at means 3 and 10, through ObserveCount and Observe; and on series whose stall is owed its
// page until it is given (decision 470: a page, not an alarm, pays it), TestStallAfterSpikePages'
// series, three seeds of each family with the spike 5 and 60 points before the stall; and on series
// whose owed stall is paid by the residual's report (decision 480: a page of another channel at
// least the owed report pays it), TestStallReportedOnceWhicheverChannelSpeaks' seeds 2, 9 and 33,
// where that path is taken (round 124).
func TestScoresDoNotDependOnAlarmScore(t *testing.T) {
	alarms := []float64{0.45, 0.3, 0.7}
	observe := (*Detector).Observe
	paidByAnother := 0
	countPaid := func(d *Detector, r Result, pagedBefore bool) {
		if !pagedBefore && d.stuck.paged && r.Reason != ReasonPattern {
			paidByAnother++
		}
	}
	for _, seed := range []uint64{2, 9, 33} {
		xs, at := stalledUserSeries(dwarfedNoise, seed, 2*pointsPerDay)
		base := resultsUnder(alarms[0], xs, observe, countPaid)
		for _, alarm := range alarms[1:] {
			if i, r := firstDifference(resultsUnder(alarm, xs, observe, nil), base); i >= 0 {
				t.Errorf("%s seed %d, a stall paid by another channel: AlarmScore %v at point %d (%d into the stall): %+v, want %+v as at 0.45",
					dwarfedNoise.name, seed, alarm, i, i-at, r, base[i])
			}
		}
	}
	if paidByAnother == 0 {
		t.Error("no stall paid by another channel's report: the 480 part checks nothing")
	}
	for _, f := range userFamilies {
		for _, gap := range []int{5, 60} {
			for seed := uint64(1); seed <= 3; seed++ {
				xs, at := stalledUserSeries(f, seed, 2*pointsPerDay)
				xs[at-gap] += spikeOfScales(f.name, at-gap, 10)
				base := resultsUnder(alarms[0], xs, observe, nil)
				for _, alarm := range alarms[1:] {
					if i, r := firstDifference(resultsUnder(alarm, xs, observe, nil), base); i >= 0 {
						t.Errorf("%s seed %d, spike %d before the stall: AlarmScore %v at point %d (%d into the stall): %+v, want %+v as at 0.45",
							f.name, seed, gap, alarm, i, i-at, r, base[i])
					}
				}
			}
		}
	}
	ways := []struct {
		name    string
		observe func(*Detector, time.Time, float64) Result
	}{{"ObserveCount", (*Detector).ObserveCount}, {"Observe", (*Detector).Observe}}
	for _, w := range ways {
		for _, lam := range []float64{3, 10} {
			for seed := uint64(1); seed <= 5; seed++ {
				xs, at := smallCountStop(seed, lam)
				base := resultsUnder(alarms[0], xs, w.observe, nil)
				for _, alarm := range alarms[1:] {
					if i, r := firstDifference(resultsUnder(alarm, xs, w.observe, nil), base); i >= 0 {
						t.Errorf("%s mean %v seed %d: AlarmScore %v at point %d (%d into the stop): %+v, want %+v as at 0.45",
							w.name, lam, seed, alarm, i, i-at+1, r, base[i])
					}
				}
			}
		}
	}
}

// resultsUnder runs xs through a fresh default detector with AlarmScore alarm and returns every
// Result with its Alarm cleared (the one field AlarmScore may decide). after, if not nil, sees the
// detector after each point with the stall's paged flag as it was before the point.
func resultsUnder(alarm float64, xs []float64, observe func(*Detector, time.Time, float64) Result, after func(d *Detector, r Result, pagedBefore bool)) []Result {
	cfg := DefaultConfig()
	cfg.AlarmScore = alarm
	d := New(cfg)
	out := make([]Result, len(xs))
	for i, x := range xs {
		paged := d.stuck.paged
		r := observe(d, t0.Add(time.Duration(i)*step), x)
		if after != nil {
			after(d, r, paged)
		}
		r.Alarm = false
		out[i] = r
	}
	return out
}

// firstDifference returns the first point where got differs from want, and got's Result there;
// -1 if none does.
func firstDifference(got, want []Result) (int, Result) {
	for i := range got {
		if got[i] != want[i] {
			return i, got[i]
		}
	}
	return -1, Result{}
}
