package anomaly

import (
	"math/rand/v2"
	"testing"
)

// TestFirstPointZeroKeepsQ (round 90's, bench/nab/DECISIONS.md 428; brought over untagged in round
// 100, 450): whether a series' first point is a zero does not change how a later run of zeros is
// priced. The stops channel learns q, the rate at which a zero follows a zero, at zeros; the first
// point has no point before it, and a count of mean 3 that opens with a zero must price a run of
// two zeros on day two as the same series opened at 3 does (zeros.go: the first point once set q
// to 0, and a run of two cost ln Memory more, for hundreds of points).
func TestFirstPointZeroKeepsQ(t *testing.T) {
	const seeds, at = 20, 400
	alarms := map[float64]int{}
	for _, open := range []float64{0, 3} {
		for s := uint64(1); s <= seeds; s++ {
			r := rand.New(rand.NewPCG(s, 428))
			xs := make([]float64, at+4)
			for i := range xs {
				xs[i] = poisson(r, 3)
			}
			xs[0], xs[at], xs[at+1], xs[at+2] = open, 0, 0, 3
			for _, res := range runCount(t, xs)[at : at+2] {
				if res.Alarm && res.Reason == ReasonStopped {
					alarms[open]++
				}
			}
		}
	}
	if alarms[0] > alarms[3] {
		t.Errorf("a run of two zeros at point %d: %d stopped alarms in %d series opened with a zero, %d opened at 3", at, alarms[0], seeds, alarms[3])
	}
	t.Logf("stopped alarms on the run: opened with 0: %d, opened at 3: %d", alarms[0], alarms[3])
}

// TestCountOpeningWithAZero: a new tenant's error count (Poisson, means 1 and 3, through
// ObserveCount) whose first window is a zero, as a count often is (one created before its first
// event), pages `stopped` in its first week no more than the same count opened at its mean: the
// zero is one point of the series like any other, and says nothing about the point before it,
// which does not exist (bench/nab/DECISIONS.md 450; round 95 measured 20 of 20 seeds paging at
// mean 3). On such counts a stop must still be news: an hour of zeros at mean 3 (e^−36) from day
// three flagged within the hour as on the same counts opened at their mean, and a count's return
// after 1,000 zeros from week five flagged within the hour (round 99's probe) on at least as many
// seeds as before the mend.
func TestCountOpeningWithAZero(t *testing.T) {
	const seeds, week = 20, 2016
	for _, lam := range []float64{1, 3} {
		alarms := map[float64]int{}
		for _, open := range []float64{0, lam} {
			for s := uint64(1); s <= seeds; s++ {
				r := rand.New(rand.NewPCG(s, 100))
				xs := make([]float64, week)
				for i := range xs {
					xs[i] = poisson(r, lam)
				}
				xs[0] = open
				for _, res := range runCount(t, xs) {
					if res.Alarm && res.Reason == ReasonStopped {
						alarms[open]++
					}
				}
			}
		}
		if alarms[0] > alarms[lam] {
			t.Errorf("mean %v: %d stopped alarms in %d first weeks opened with a zero, %d opened at %v", lam, alarms[0], seeds, alarms[lam], lam)
		}
		t.Logf("mean %v: stopped alarms in the first week, opened with a zero %d, at the mean %d", lam, alarms[0], alarms[lam])
	}

	// A stop: an hour of zeros from day three at mean 3, flagged within the hour on as many of the
	// counts opened with a zero as of the same counts opened at 3 (the same seeds, the first window
	// apart). Round 100's clause compared them with the detector before 450 on the counts opened
	// with a zero (20 of 20), where the defect itself, q near 0, flagged a stop at its first zeros;
	// the lead amended it after the run (bench/nab/DECISIONS.md 450): the mend must make these counts
	// what the counts opened at their mean are, no more (18 and 18 of 20 under 450). The return after
	// 1,000 zeros: at least the detector's before 450 on these seeds (20, 18 and 20 of 20 at means 1,
	// 3 and 10; its stop's held price swallowed two returns at mean 3).
	stops := map[float64]int{}
	for _, open := range []float64{0, 3} {
		for s := uint64(1); s <= seeds; s++ {
			r := rand.New(rand.NewPCG(s, 101))
			at := 2*pointsPerDay + r.IntN(pointsPerDay)
			xs := make([]float64, at+12)
			for i := range xs[:at] {
				xs[i] = poisson(r, 3)
			}
			xs[0] = open
			if flaggedIn(runCount(t, xs), at, at+12) {
				stops[open]++
			}
		}
	}
	if stops[0] < stops[3] {
		t.Errorf("mean 3: an hour of zeros from day three flagged within the hour in %d of %d series opened with a zero, %d opened at 3", stops[0], seeds, stops[3])
	}
	t.Logf("mean 3: an hour of zeros flagged within the hour in %d of %d opened with a zero, %d opened at 3", stops[0], seeds, stops[3])
	for _, c := range []struct {
		lam  float64
		want int
	}{{1, 20}, {3, 18}, {10, 20}} {
		lam, returns := c.lam, 0
		for s := uint64(1); s <= seeds; s++ {
			r := rand.New(rand.NewPCG(s, 102))
			const at, stop = 4 * week, 1000
			xs := make([]float64, at+stop+12)
			for i := range xs {
				xs[i] = poisson(r, lam)
			}
			xs[0] = 0
			for i := at; i < at+stop; i++ {
				xs[i] = 0
			}
			// The return is its first count, within the hour after the stop's last zero.
			ret := at + stop
			for ret < len(xs)-1 && xs[ret] == 0 {
				ret++
			}
			if flaggedIn(runCount(t, xs), ret, at+stop+12) {
				returns++
			}
		}
		if returns < c.want {
			t.Errorf("mean %v opened with a zero: the return after 1,000 zeros flagged within the hour in %d of %d series, want at least %d", lam, returns, seeds, c.want)
		}
		t.Logf("mean %v opened with a zero: the return after 1,000 zeros flagged within the hour in %d of %d", lam, returns, seeds)
	}
}

// TestCountReturnForgetsTheOpening: four weeks after a count's first window, that window cannot say
// whether the count's return after a stop is news. TestCountReturnAfterStop's mature cases (Poisson
// counts of means 1, 3 and 10 through ObserveCount; a day and 1,000 zeros from week five), the same
// 20 seeds with the first point set to 0 and set to the mean: the return, its first count above zero,
// flagged within the hour on at least as many series opened with a zero as opened at the mean, case
// by case. Before 454 (bench/nab/DECISIONS.md, round 104) a first zero set q to 0, and a stop's held
// price, raised by it, swallowed the return (mean 10 after a day: 0 of 20 opened with a zero against
// 19 at 10). The young cases are not here: in a count's first days any early point moves the young
// estimates, and a zero anywhere early moves a mean-1 count's return after a day as much as a first
// zero does (round 104's reading).
func TestCountReturnForgetsTheOpening(t *testing.T) {
	const seeds, hour, at = 20, 12, 4 * 2016
	for _, lam := range []float64{1, 3, 10} {
		for _, stop := range []int{288, 1000} {
			flagged := map[float64]int{}
			for _, open := range []float64{0, lam} {
				for s := uint64(1); s <= seeds; s++ {
					r := rand.New(rand.NewPCG(s, 991))
					xs := make([]float64, at+stop+hour)
					for i := range xs {
						xs[i] = poisson(r, lam)
					}
					xs[0] = open
					for i := at; i < at+stop; i++ {
						xs[i] = 0
					}
					ret := at + stop
					for ret < len(xs)-1 && xs[ret] == 0 {
						ret++
					}
					if flaggedIn(runCount(t, xs), ret, at+stop+hour) {
						flagged[open]++
					}
				}
			}
			if flagged[0] < flagged[lam] {
				t.Errorf("mean %v, return after %d zeros from week five: flagged within the hour in %d of %d series opened with a zero, %d opened at %v", lam, stop, flagged[0], seeds, flagged[lam], lam)
			}
			t.Logf("mean %v, stop %d: return flagged within the hour, opened with a zero %d, at the mean %d", lam, stop, flagged[0], flagged[lam])
		}
	}
}
