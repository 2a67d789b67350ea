package anomaly

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestYoungSeriesFirstMorning: a stream's records per 5-minute window, added at midnight (a
// daily cycle from a trough at 04:00 to three times that at 16:00, 5% noise as batching
// producers give), rises on its first morning as it will every morning. The forecaster has no
// daily profile yet; the rise is the series' ordinary shape, not news, and it is the first
// impression weir makes on a user who adds a metric. At most 3 of 20 seeds may alarm between
// 06:00 and 12:00 of day one; a spike of 10 noise scales at 14:00 of day one is still flagged on
// at least 18 of 20.
//
// Written for round 67 (bench/nab/DECISIONS.md), at most 2 of 20 mornings; round 69's plan set
// the bound its brief gave, 3, before any form ran. Without the day-one trend (young.go) the
// first morning alarms on 15 of 20 seeds.
func TestYoungSeriesFirstMorning(t *testing.T) {
	const seeds = 20
	morning, spikes := 0, 0
	for seed := uint64(1); seed <= seeds; seed++ {
		xs := firstDay(seed)
		rs := run(t, xs)
		for i := 6 * 12; i < 12*12; i++ {
			if rs[i].Alarm {
				morning++
				break
			}
		}
		const at = 14 * 12
		xs[at] += 10 * recordsNoise(recordsLevel(at))
		if rs := run(t, xs); flaggedWithin(rs, at, 0) >= 0 {
			spikes++
		}
	}
	t.Logf("first mornings alarmed on %d of %d seeds; day-one spikes flagged on %d", morning, seeds, spikes)
	const maxMornings, minSpikes = 3, 18
	if morning > maxMornings {
		t.Errorf("the first morning's rise alarmed on %d of %d seeds, want at most %d", morning, seeds, maxMornings)
	}
	if spikes < minSpikes {
		t.Errorf("a spike of 10 scales on day one flagged on %d of %d seeds, want at least %d", spikes, seeds, minSpikes)
	}
}

// recordsLevel is the records' expectation at point i (5-minute windows from midnight): 20,000
// at 04:00, 60,000 at 16:00.
func recordsLevel(i int) float64 {
	h := float64(i) / 12
	return 40000 - 20000*math.Cos(2*math.Pi*(h-4)/24)
}

// recordsNoise is its noise: Poisson plus 5% of the level.
func recordsNoise(m float64) float64 { return math.Sqrt(m + 0.05*0.05*m*m) }

// firstDay returns a day of the records series for seed.
func firstDay(seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 67))
	xs := make([]float64, pointsPerDay)
	for i := range xs {
		m := recordsLevel(i)
		xs[i] = math.Round(m + recordsNoise(m)*r.NormFloat64())
	}
	return xs
}

// TestDayOneLeavesTheStateAsWithout: the day-one trend changes only what a point reports. A
// detector with it and one whose trend is over from the start (main's path: every point
// reports what the channels say) are fed the same series, by Observe and by ObserveCount:
// the records' first eight days with a spike and a stall on day one, bursty counts, a series with
// gaps. After every point their states are equal but for the trend's own numbers, so is every
// result but a young point's score (never higher), and once the series is no longer young every
// result and both snapshots (the trend's numbers, then zero, included) are equal.
func TestDayOneLeavesTheStateAsWithout(t *testing.T) {
	// Eight days: past every span a series is young for (young.go), at every spacing below.
	var recs []float64
	for seed := uint64(3); seed < 11; seed++ {
		recs = append(recs, firstDay(seed)...)
	}
	recs[100] *= 3
	for i := 200; i < 230; i++ {
		recs[i] = 0
	}
	bursts := make([]float64, 8*pointsPerDay)
	r := rand.New(rand.NewPCG(9, 69))
	for i := range bursts {
		if r.IntN(10) == 0 {
			bursts[i] = float64(r.IntN(40))
		}
	}
	for _, c := range []struct {
		name  string
		xs    []float64
		every int // a point every that many steps
	}{{"records", recs, 1}, {"bursts", bursts, 1}, {"hourly", recs[:pointsPerDay], 12}} {
		for _, observe := range []func(*Detector, time.Time, float64) Result{(*Detector).Observe, (*Detector).ObserveCount} {
			with, without := New(DefaultConfig()), New(DefaultConfig())
			without.young.over = true
			lower := 0
			for i, x := range c.xs {
				at := t0.Add(time.Duration(i*c.every) * step)
				if i == 150 {
					at = at.Add(3 * time.Hour) // a gap on day one
				}
				got, want := observe(with, at, x), observe(without, at, x)
				young := with.young
				with.young = without.young
				if *with != *without {
					t.Fatalf("%s, point %d: the state differs from main's path", c.name, i)
				}
				with.young = young
				if got.Score < want.Score && !with.young.over {
					lower++
					got.Score, got.Alarm, got.Reason = want.Score, want.Alarm, want.Reason
				}
				if got != want {
					t.Fatalf("%s, point %d: %+v, want %+v (or a lower score on day one)", c.name, i, got, want)
				}
			}
			a, _ := with.MarshalMsgpack()
			b, _ := without.MarshalMsgpack()
			if !with.young.over || !bytes.Equal(a, b) {
				t.Errorf("%s: once no longer young the snapshots differ (trend over: %v)", c.name, with.young.over)
			}
			t.Logf("%s: %d day-one points report lower", c.name, lower)
		}
	}
}

// TestDayOneTrendStaysWithinTheSnapshotBound: the decoder accepts a day-one trend's level and
// slope up to ±maxState, and the detector's own snapshots must stay readable from any state it
// accepted. An undamped trend whose innovations are clipped can be pumped far past the values it
// follows (a square wave of ±1e300 at one point a second, its runs of a few hundred points, took
// it to 4e304 within its first day: bench/nab/DECISIONS.md, round 70), and a level and slope
// each at the bound forecast twice it. So the trend is held within ±maxState: restored at the
// bound in its first day, a series' next points leave a snapshot that restores.
func TestDayOneTrendStaysWithinTheSnapshotBound(t *testing.T) {
	for _, sign := range []float64{1, -1} {
		d := New(DefaultConfig())
		xs := series(100, 3, daily)
		for i, x := range xs[:50] {
			d.Observe(t0.Add(time.Duration(i)*step), x)
		}
		d.young.level, d.young.trend = sign*maxState, sign*maxState
		b, err := d.MarshalMsgpack()
		if err != nil {
			t.Fatal(err)
		}
		var r Detector
		if err := r.UnmarshalMsgpack(b); err != nil {
			t.Fatalf("a trend at the bound refused: %v", err)
		}
		for i := 50; i < 53; i++ {
			r.Observe(t0.Add(time.Duration(i)*step), xs[i])
		}
		if b, err = r.MarshalMsgpack(); err == nil {
			err = new(Detector).UnmarshalMsgpack(b)
		}
		if err != nil {
			t.Errorf("sign %v: after 3 points from a trend at the bound (level %g, slope %g): %v",
				sign, r.young.level, r.young.trend, err)
		}
	}
}

// TestYoungSeriesFirstWeek: the records series of TestYoungSeriesFirstMorning after its first
// day, the same cycle every day. Its profile's slots rest on a few visits each, started from one
// point, and its plain level still lags every rise, so its ordinary days two to seven alarmed on
// every seed (bench/nab/DECISIONS.md, round 73: 59 alarms on 20 of 20 seeds before decision 390,
// 26 on 13 with it; the bound sits between). At most 40 alarms over the 20 seeds' six days; a
// spike of 10 noise scales at 14:00 of day four is still flagged on at least 18 of 20.
//
// What each bound can fail for (round 76, measured): the alarms' bound fails on main's path
// (59), and on a young span of two days (46), since most of main's alarms fall on days two and
// three (19 and 16); a span of three days passes (37), so it holds the first days after day one
// quiet, not the whole week (days four to seven: 24 alarms on main's path, 13 with the week,
// within a few Poisson errors of any bound between). The spike's bound fails when a young point's
// report loses what the residual says of a point far from both forecasts (a young report that
// ignores the residual: 0 of 20). 10 scales is the spike size the product claims (the top README,
// bench/synth). With the week's report and on main's path alike it is flagged on 20 of 20 seeds
// from 7 scales up, 19 at 5 and 6, 17 at 4; at 3 the week's report flags 9 against main's 12. So
// the check is of that claim, with room, and not of small spikes, which the report may lower.
func TestYoungSeriesFirstWeek(t *testing.T) {
	const seeds, days = 20, 7
	alarms, spikes := 0, 0
	var perDay [days]int
	for seed := uint64(1); seed <= seeds; seed++ {
		var xs []float64
		for d := range uint64(days) {
			xs = append(xs, firstDay(100*seed+d)...)
		}
		rs := run(t, xs)
		for i := pointsPerDay; i < len(xs); i++ {
			if rs[i].Alarm {
				alarms++
				perDay[i/pointsPerDay]++
			}
		}
		at := 3*pointsPerDay + 14*12
		xs[at] += 10 * recordsNoise(recordsLevel(at))
		if rs := run(t, xs); flaggedWithin(rs, at, 0) >= 0 {
			spikes++
		}
	}
	t.Logf("days two to seven: %d alarms over %d seeds (by day %v); day-four spikes flagged on %d", alarms, seeds, perDay[1:], spikes)
	const maxAlarms, minSpikes = 40, 18
	if alarms > maxAlarms {
		t.Errorf("ordinary days two to seven alarmed %d times over %d seeds, want at most %d", alarms, seeds, maxAlarms)
	}
	if spikes < minSpikes {
		t.Errorf("a spike of 10 scales on day four flagged on %d of %d seeds, want at least %d", spikes, seeds, minSpikes)
	}
}
