package anomaly

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/contrib"
)

// runCount feeds xs to a fresh default detector as counts (ObserveCount).
func runCount(t testing.TB, xs []float64) []Result { return runWith(t, xs, (*Detector).ObserveCount) }

// observePaths are the two ways a series is observed, for the tests that concern counts.
var observePaths = []struct {
	name string
	run  func(testing.TB, []float64) []Result
}{{"Observe", run}, {"ObserveCount", runCount}}

// youngCounts is round 22's young small-count series (bench/nab/DECISIONS.md, round 22): 40
// points drawn evenly from vals, except at point countAt the count a Poisson count at the
// detector's own expectation reaches about once in 20 points, and at burstAt the demo tenant's
// burst of 79. It returns the results of observing it as a count (or not) and the count put at
// countAt.
func youngCounts(seed uint64, vals []float64, count bool) ([]Result, float64) {
	const n, countAt, burstAt = 40, 13, 16
	rng := rand.New(rand.NewPCG(seed, 22))
	d := New(DefaultConfig())
	obs := d.Observe
	if count {
		obs = d.ObserveCount
	}
	rs := make([]Result, n)
	var rare float64
	for i := range rs {
		at := t0.Add(time.Duration(i) * step)
		v := vals[rng.IntN(len(vals))]
		switch i {
		case countAt:
			// The expectation, asked with a NaN, which learns nothing; then the smallest count
			// above it that a Poisson count reaches at most once in 20 points.
			lam := d.Observe(at, math.NaN()).Expected
			for v = math.Floor(max(lam, 0)) + 1; lam > 0 && poissonReference(v, lam) < math.Log(20); v++ {
			}
			rare = v
		case burstAt:
			v = 79
		}
		rs[i] = obs(at, v)
	}
	return rs, rare
}

// TestYoungSmallCountsJudgedAsCounts, round 22's test rebuilt (bench/nab/ROUNDS.md, plan (99)):
// 200 young series of small counts in five families (values drawn evenly from 0–1, 1–2, 2–4,
// 5–7, and a count stuck at 3), each with, at its 14th point, a count that Poisson noise at
// the detector's own expectation reaches once in 20 points, and three points later the demo
// tenant's burst of 79. Observed as counts, at most 1 in 20 of the first may alarm, and all but
// 1 in 100 of the bursts must. Measured: as counts 2 of 200 loud (both 0s and 1s) and no burst
// hidden; through Observe (the normal approximation of a deviation learned from a dozen whole
// numbers) it fails, 190 loud and 45 hidden (40 after the stuck count, 2 after 0s and 1s, 2
// after 1s and 2s, 1 after 5–7; round 22 logged 169 and 44 on its own seeds).
func TestYoungSmallCountsJudgedAsCounts(t *testing.T) {
	families := []struct {
		name string
		vals []float64
	}{{"0-1", []float64{0, 1}}, {"1-2", []float64{1, 2}}, {"2-4", []float64{2, 3, 4}},
		{"5-7", []float64{5, 6, 7}}, {"stuck at 3", []float64{3}}}
	const perFamily, countAt, burstAt = 40, 13, 16
	for _, count := range []bool{false, true} {
		loud, hidden := 0, 0
		var detail string
		for _, f := range families {
			fl, fh := 0, 0
			for seed := uint64(1); seed <= perFamily; seed++ {
				rs, _ := youngCounts(seed, f.vals, count)
				if rs[countAt].Alarm {
					fl++
				}
				if !rs[burstAt].Alarm {
					fh++
				}
			}
			loud, hidden = loud+fl, hidden+fh
			detail += fmt.Sprintf(" %s: %d loud, %d hidden;", f.name, fl, fh)
		}
		t.Logf("count=%v: %d of 200 loud, %d bursts hidden (%s)", count, loud, hidden, detail)
		if !count {
			continue // the normal approximation's numbers, for the record: it fails
		}
		if loud > 10 || hidden > 2 {
			t.Errorf("as counts: %d of 200 once-in-20 counts alarm (want at most 10), %d of 200 bursts hidden (want at most 2)", loud, hidden)
		}
	}
}

// TestCleanCountsFalseAlarms: Poisson counts with no anomaly (40 seeds of 2,000 points per mean)
// alarm less often observed as counts than through Observe, at most 0.7 times as often after
// their first 100 points and at most 1.6e-3 per point there (white noise through Observe: about
// 1.3e-3, TestWhiteNoiseFalseAlarmRate), and no more often in their first 100, at most 7e-3.
// Measured, alarms per point in the first 100 / after, as counts against Observe: mean 0.5
// 4.25e-3 / 9.47e-4 against 1.05e-2 / 2.22e-3; 1: 1.75e-3 / 1.01e-3 against 1.12e-2 /
// 2.33e-3; 3: 6.00e-3 / 1.46e-3 against 9.75e-3 / 2.75e-3; 10: 1.25e-3 / 1.50e-3 against
// 6.50e-3 / 2.39e-3 (round 24 measured 263 likewise: halved after the first 100 at means up to
// 3). Then a spike of ten standard deviations (and at least ten counts) above the mean at the
// 2,001st point alarms on every series observed as a count.
func TestCleanCountsFalseAlarms(t *testing.T) {
	const seeds, young, spike = 40, 100, 2000
	for _, lam := range []float64{0.5, 1, 3, 10} {
		var rates [2][2]float64 // [path][young, after]
		for p, path := range observePaths {
			var early, late int
			for seed := uint64(1); seed <= seeds; seed++ {
				r := rand.New(rand.NewPCG(seed, 33))
				xs := make([]float64, spike+1)
				for i := range xs {
					xs[i] = poisson(r, lam)
				}
				xs[spike] = math.Ceil(lam + max(10, 10*math.Sqrt(lam)))
				rs := path.run(t, xs)
				for i, x := range rs[:spike] {
					if !x.Alarm {
						continue
					}
					if i < young {
						early++
					} else {
						late++
					}
				}
				if !rs[spike].Alarm && path.name == "ObserveCount" {
					t.Errorf("λ=%v seed %d: a spike of %v scores %.3f as a count, no alarm", lam, seed, xs[spike], rs[spike].Score)
				}
			}
			rates[p] = [2]float64{float64(early) / (seeds * young), float64(late) / (seeds * (spike - young))}
		}
		t.Logf("λ=%v: alarms per point, first %d / after: ObserveCount %.2e / %.2e, Observe %.2e / %.2e",
			lam, young, rates[1][0], rates[1][1], rates[0][0], rates[0][1])
		if rates[1][0] > min(7e-3, rates[0][0]) || rates[1][1] > min(1.6e-3, 0.7*rates[0][1]) {
			t.Errorf("λ=%v as counts: %.2e / %.2e alarms per point, want at most min(7e-3, Observe's %.2e) / min(1.6e-3, 0.7 × Observe's %.2e)",
				lam, rates[1][0], rates[1][1], rates[0][0], rates[0][1])
		}
	}
}

// TestAnalyzerJudgesCountsByMetadata: the analyzer observes as counts the series whose metadata
// says they are (a Records point with Unit Count, the contributors of a rule that aggregates on
// Count) and no other (Bytes; a Records point with another unit; the contributors of a Sum
// rule). Five series get the same young small counts, the demo tenant's 1s and 2s, then at
// their 13th point the smallest count a Poisson count at their expectation reaches at most once
// in 20 points: the two counts score it as a bare detector's ObserveCount does, below
// alarm_score; the other three as its Observe does, an alarm (measured: a 5 at 1.58 expected,
// once in 44 points, scores 0.275 against 0.823).
func TestAnalyzerJudgesCountsByMetadata(t *testing.T) {
	xs := []float64{2, 2, 2, 2, 1, 1, 2, 2, 1, 1, 2, 1, 0}
	const rareAt = 12
	// The rare count, from the expectation of a bare detector fed the same windows (the
	// analyzer does not feed a fresh analyzer's first window: the series start at window 1).
	bare := New(DefaultConfig())
	for i, x := range xs[:rareAt] {
		bare.Observe(windowN(i+1).Start, x)
	}
	lam := bare.Observe(windowN(rareAt+1).Start, math.NaN()).Expected
	for xs[rareAt] = math.Floor(lam) + 1; poissonReference(xs[rareAt], lam) < math.Log(20); xs[rareAt]++ {
	}
	plain, count := New(DefaultConfig()), New(DefaultConfig())
	var want [2]Result
	for i, x := range xs {
		want = [2]Result{plain.Observe(windowN(i+1).Start, x), count.ObserveCount(windowN(i+1).Start, x)}
	}
	if want[0].Alarm == want[1].Alarm {
		t.Fatalf("the test's series does not separate the paths: %v at %.2f expected scores %.3f through Observe, %.3f as a count",
			xs[rareAt], lam, want[0].Score, want[1].Score)
	}

	h := newHarness(t, DefaultConfig(), nil)
	report := func(out *pipeline.Output, rule, stat string, v float64) {
		out.Reports = append(out.Reports, pipeline.Report{Kind: "report", Name: rule, Body: contrib.Report{
			RuleName: rule, KeyLabels: []string{"tenant"}, AggregationStatistic: stat, AggregateValue: v,
			Contributors: []contrib.Contributor{{Keys: []string{"t-0003"}, ApproximateAggregateValue: v}},
		}})
	}
	var pts []pipeline.Point
	for i, x := range append([]float64{0}, xs...) { // window 0 is not fed
		out := &pipeline.Output{Window: windowN(i)}
		addThroughput(out, "events", int64(x), int64(x))
		out.Points = append(out.Points, pipeline.Point{Name: "Records", Unit: pipeline.UnitNone, Value: x,
			Dimensions: []pipeline.Dimension{{Name: "Stream", Value: "resampled"}}})
		report(out, "errors-by-tenant", "Count", x)
		report(out, "latency-by-tenant", "Sum", x)
		pts, _ = h.analyze(out)
	}
	score := func(metric, dimName, dimValue string) float64 {
		for _, p := range pts {
			if m, _ := dim(p.Dimensions, metricDimension); p.Name != MetricScore || m != metric {
				continue
			}
			if v, _ := dim(p.Dimensions, dimName); v == dimValue {
				return p.Value
			}
		}
		t.Fatalf("no score for %s{%s=%q}", metric, dimName, dimValue)
		return 0
	}
	for _, s := range []struct {
		what                      string
		metric, dimName, dimValue string
		count                     bool
	}{
		{"Records, Unit Count", "Records", "Stream", "events", true},
		{"a Count rule's contributor", contributorMetric, ruleDimension, "errors-by-tenant", true},
		{"Bytes", "Bytes", "Stream", "events", false},
		{"Records, Unit None", "Records", "Stream", "resampled", false},
		{"a Sum rule's contributor", contributorMetric, ruleDimension, "latency-by-tenant", false},
	} {
		w := want[0]
		if s.count {
			w = want[1]
		}
		if got := score(s.metric, s.dimName, s.dimValue); got != w.Score {
			t.Errorf("%s: a %v at %.2f expected scores %.3f, want %.3f (observed as a count: %v)", s.what, xs[rareAt], lam, got, w.Score, s.count)
		}
	}
	t.Logf("a %v at %.2f expected: %.3f through Observe, %.3f as a count", xs[rareAt], lam, want[0].Score, want[1].Score)
}

// TestSmallCountsFirstZeros: a new tenant's error count (Poisson, means 1 and 3, through
// ObserveCount) does not page for an ordinary zero in its first week more than in its second. A
// zero is one point in 2.7 at mean 1 and one in 20 at mean 3, and the series' first zero after
// its first minEvidence points is no news at either (the stops channel priced it at one zero per
// horizon, 8.7 nats, whatever the series' age). A stop (an hour of zeros at mean 3, e^−36) and a
// burst must still be flagged within the hour (bench/nab/DECISIONS.md 429).
func TestSmallCountsFirstZeros(t *testing.T) {
	const seeds, week = 20, 2016
	for _, lam := range []float64{1, 3} {
		var first, second, bursts, stops int
		for s := uint64(1); s <= seeds; s++ {
			r := rand.New(rand.NewPCG(s, 90))
			xs := make([]float64, 2*week)
			for i := range xs {
				xs[i] = poisson(r, lam)
			}
			for i, res := range runCount(t, xs) {
				if !res.Alarm || res.Reason != ReasonStopped {
					continue
				}
				if i < week {
					first++
				} else {
					second++
				}
			}
			// From day three, an hour of zeros, and separately a burst held for an hour.
			at := 2*288 + r.IntN(288)
			stop := append([]float64(nil), xs[:at+12]...)
			for i := at; i < len(stop); i++ {
				stop[i] = 0
			}
			if flaggedIn(runCount(t, stop), at, at+12) {
				stops++
			}
			burst := append([]float64(nil), xs[:at+12]...)
			hv := math.Ceil(lam + 6*math.Sqrt(lam) + 2)
			for i := at; i < len(burst); i++ {
				burst[i] = hv
			}
			if flaggedIn(runCount(t, burst), at, at+12) {
				bursts++
			}
		}
		if first > second+2 {
			t.Errorf("mean %v: the stopped channel alarms %d times in 20 series' first weeks against %d in their second", lam, first, second)
		}
		// The detector before 429 missed one too (seed 15's stop peaks at 0.432): no worse than that.
		if lam == 3 && stops < seeds-1 {
			t.Errorf("mean %v: an hour of zeros flagged within the hour in %d of %d series", lam, stops, seeds)
		}
		if bursts != seeds {
			t.Errorf("mean %v: a burst to %v flagged within the hour in %d of %d series", lam, math.Ceil(lam+6*math.Sqrt(lam)+2), bursts, seeds)
		}
		t.Logf("mean %v: stopped alarms, first week %d, second %d; stops %d/%d, bursts %d/%d", lam, first, second, stops, seeds, bursts, seeds)
	}
}

// flaggedIn reports whether any point from..to-1 of rs alarms.
func flaggedIn(rs []Result, from, to int) bool {
	for _, r := range rs[from:min(to, len(rs))] {
		if r.Alarm {
			return true
		}
	}
	return false
}

// A count that stops and comes back: the return is news (the service is back, bench/nab round 94),
// and the count's Poisson bound must not take it away. During a stop the forecaster's expectation
// follows the zeros far below 1/n, so a floor on the bound's mean priced at the series' age (round
// 99's 449) capped the return's first count near ln n nats: after 1,000 zeros the return of a mean-1
// count was flagged within the hour on 0 of 20 seeds against main's 20. Poisson counts at means 1, 3
// and 10, a stop of a day and one of 1,000 points, in week five (mature) and from day two (young:
// the return still inside the first week); the return, the first count above zero after the stop,
// must be flagged within the hour (by the stop's end + 12 points) on at least as many seeds as the
// detector flagged when this was written (a23dbb1, bench/nab round 101), case by case. Brought over
// from round 99's probe (TestProbe99StopReturnSummary, anomaly99-proto). One bound re-derived since
// (round 104, 454): the young mean-1 count's return after a day, 6 when written, is 3. Of the 6, the 3
// on series opened with a zero (seeds 2, 4, 20) were reported only through q set to 0 by that first
// zero: it raised the stop's held price past the stops channel's last curve level, which then
// discounted the stop's next re-pricing inside the return's Quiet window; the 3 on series opened
// otherwise (seeds 7, 18, 19), which the mend does not touch, stay.
func TestCountReturnAfterStop(t *testing.T) {
	const seeds, hour = 20, 12
	cases := []struct {
		age  string
		at   int // where the stop starts
		lam  float64
		stop int
		want int // seeds flagged when written; 0 is logged, not asserted
	}{
		{"mature", 4 * 2016, 1, 1000, 20},
		{"mature", 4 * 2016, 3, 1000, 20},
		{"mature", 4 * 2016, 10, 1000, 20},
		{"mature", 4 * 2016, 1, 288, 0},
		{"mature", 4 * 2016, 3, 288, 1},
		{"mature", 4 * 2016, 10, 288, 19},
		{"young", 288, 1, 1000, 20},
		{"young", 288, 3, 1000, 20},
		{"young", 288, 10, 1000, 20},
		{"young", 288, 1, 288, 3},
		{"young", 288, 3, 288, 6},
		{"young", 288, 10, 288, 19},
	}
	for _, c := range cases {
		flagged := 0
		for s := uint64(1); s <= seeds; s++ {
			r := rand.New(rand.NewPCG(s, 991))
			xs := make([]float64, c.at+c.stop+hour)
			for i := range xs {
				xs[i] = poisson(r, c.lam)
			}
			for i := c.at; i < c.at+c.stop; i++ {
				xs[i] = 0
			}
			ret := c.at + c.stop
			for ret < len(xs)-1 && xs[ret] == 0 {
				ret++
			}
			if flaggedIn(runCount(t, xs), ret, c.at+c.stop+hour) {
				flagged++
			}
		}
		if c.want > 0 && flagged < c.want {
			t.Errorf("%s count of mean %v, return after %d zeros flagged within the hour in %d of %d series, want at least %d", c.age, c.lam, c.stop, flagged, seeds, c.want)
		}
		t.Logf("%s, mean %v, stop %d: return flagged within the hour %d of %d (written: %d)", c.age, c.lam, c.stop, flagged, seeds, c.want)
	}
}
