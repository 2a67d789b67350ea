package main

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline/anomaly"
	"github.com/weirstream/weir/pipeline/anomaly/anomalytest"
)

// Changes fall in week 7, after six weeks learned, at every hour and on weekends too, and leave
// four whole weeks and the spike two weeks after them inside the series.
func TestMatureOnsetsInWeekSeven(t *testing.T) {
	hours, weekend := map[int]bool{}, 0
	for seed := uint64(1); seed <= 200; seed++ {
		at := matureOnset(seed)
		if at < 6*pointsPerWeek || at >= 7*pointsPerWeek {
			t.Fatalf("matureOnset(%d) = %d, want in week 7, [%d, %d)", seed, at, 6*pointsPerWeek, 7*pointsPerWeek)
		}
		if at+afterDays*pointsPerDay > maturePoints || at+spikeAfter >= maturePoints {
			t.Fatalf("matureOnset(%d) = %d: four weeks after it, or its spike, end past the series (%d points)", seed, at, maturePoints)
		}
		hours[at%pointsPerDay/12] = true
		if at/pointsPerDay%7 >= 5 {
			weekend++
		}
	}
	if len(hours) != 24 || weekend < 30 || weekend > 90 {
		t.Errorf("200 onsets fall in %d hours of the day and %d on weekends, want 24 and about 57", len(hours), weekend)
	}
	// The rows' premise: six weeks are more than the tail curves' horizon at the default
	// Memory (2 × Memory, pipeline/anomaly/tail.go).
	if h := 2 * anomaly.DefaultConfig().Memory; 6*pointsPerWeek <= h {
		t.Errorf("a mature series learns %d points before its change, not more than the tail curves' horizon %d", 6*pointsPerWeek, h)
	}
}

// A mature series is the four-week rows' series before its change (the same stream), and each
// change does what mature.go says, measured over the week after it against the unchanged series.
func TestMatureSeriesAsScripted(t *testing.T) {
	const seed = 4
	at := matureOnset(seed)
	end := at + pointsPerWeek
	for i := range families {
		f := &families[i]
		c := generateMature(f, noChange, seed, at, maturePoints)
		if four := generate(f, clean, seed, 0, seriesPoints); !slices.Equal(c[:seriesPoints], four) {
			t.Errorf("%s: the mature series' first four weeks are not the clean four-week series", f.name)
		}
		for _, ch := range changes {
			xs := generateMature(f, ch, seed, at, maturePoints)
			if !slices.Equal(xs[:at], c[:at]) {
				t.Errorf("%s %s: the series differs from the unchanged one before the change", f.name, ch)
			}
			ok, _ := f.appliesChange(ch)
			if !ok {
				continue
			}
			if slices.Equal(xs[at:], c[at:]) {
				t.Errorf("%s %s: the series is the unchanged one after the change too", f.name, ch)
				continue
			}
			level := mean(xs[at:end]) / mean(c[at:end])
			// As mature.go states them, not read from factor().
			factor := map[change]float64{busier: 2, quieter: 0.5}[ch]
			switch ch {
			case busier, quieter:
				if f.name == "lag" {
					// Lag's level is its backlogs, a few a week: the week's mean is theirs.
					break
				}
				if r := level / factor; r < 0.9 || r > 1.1 {
					t.Errorf("%s %s: the week's mean is %.3f times the unchanged one's, want %.1f", f.name, ch, level, factor)
				}
				// The noise relative to the level is the same: the point-to-point changes scale
				// with it (errors' and the setting's need no check: a bursty count's spread is
				// its level's, and a constant has none).
				if f.name == "setting" || f.name == "errors" {
					break
				}
				if r := sd(diffs(xs[at:end])) / sd(diffs(c[at:end])) / factor; r < 0.85 || r > 1.15 {
					t.Errorf("%s %s: the noise moved %.2f times the level", f.name, ch, r)
				}
			case burstier:
				if f.name == "latency" {
					// Its level is its median: a log-normal's mean rises with its log-deviation.
					level = median(slices.Clone(xs[at:end])) / median(slices.Clone(c[at:end]))
				}
				if f.name != "errors" && f.name != "lag" && math.Abs(level-1) > 0.02 {
					t.Errorf("%s %s: the week's mean is %.3f times the unchanged one's, want the same", f.name, ch, level)
				}
				a, b := diffs(xs[at:end]), diffs(c[at:end])
				if f.name == "latency" {
					a, b = diffs(logs(xs[at:end])), diffs(logs(c[at:end]))
				}
				if r := sd(a) / sd(b); r < 1.8 || r > 2.2 {
					t.Errorf("%s %s: point-to-point deviation %.2f times the unchanged one's, want 2", f.name, ch, r)
				}
			}
		}
	}
	for name, ch := range map[string]change{"setting": burstier, "cpu": busier} {
		if ok, _ := fam(name).appliesChange(ch); ok {
			t.Errorf("%s %s applies; mature.go says it means nothing there", name, ch)
		}
	}
}

func logs(xs []float64) []float64 {
	l := make([]float64, len(xs))
	for i, x := range xs {
		l[i] = math.Log(x)
	}
	return l
}

// A spike in the new regime is 10 of the new regime's scales above the series' value: twice the
// scale for doubled noise, a count's scale at its new rate, any other series' scale in its new
// unit.
func TestSpikeInTheNewRegime(t *testing.T) {
	const i = 9000
	m := func(f *family) float64 { return f.level(load(i)) }
	want := map[string]map[change]func(f *family) float64{
		"records": {
			noChange: func(f *family) float64 { return f.scale(m(f)) },
			burstier: func(f *family) float64 { return 2 * f.scale(m(f)) },
			busier:   func(f *family) float64 { return f.scale(2 * m(f)) },
			quieter:  func(f *family) float64 { return f.scale(m(f) / 2) },
		},
		"latency": {
			busier:  func(f *family) float64 { return 2 * f.scale(m(f)) },
			quieter: func(f *family) float64 { return f.scale(m(f)) / 2 },
		},
		"setting": {busier: func(*family) float64 { return 2 }},
	}
	for name, byChange := range want {
		f := fam(name)
		for ch, scale := range byChange {
			xs := generateMature(f, ch, 2, 8000, i+1)
			d := spikeValue(f, ch, xs, i) - xs[i]
			if w := 10 * scale(f); math.Abs(d-w) > 1 {
				t.Errorf("%s %s: the spike is %.2f above the value, want 10 of the new scale, %.2f", name, ch, d, w)
			}
		}
	}
	// Records' new scale at twice the rate is not twice the old one (its Poisson part does not
	// scale), so the test above tells a count's law from a unit's.
	if f := fam("records"); math.Abs(f.scale(2*m(f))-2*f.scale(m(f))) < 0.5 {
		t.Fatal("records' scale at twice the rate is twice its scale: the count case is not told apart")
	}
}

// A run forked from a copy of the detector is the run a fresh detector gives over the whole
// series, and the spike given to a copy changes nothing after it: the forks share no state.
func TestObserveFromForks(t *testing.T) {
	const at, spikeAt, n = 2500, 2800, 3200
	f := fam("latency")
	c := generateMature(f, noChange, 3, at, n)
	xs := generateMature(f, burstier, 3, at, n)
	spike := spikeValue(f, burstier, xs, spikeAt)

	crs, rs := make([]anomaly.Result, n), make([]anomaly.Result, n)
	d := anomaly.New(anomaly.DefaultConfig())
	observeFrom(d, observeValue, c[:at], 0, -1, 0, crs)
	fork := *d
	observeFrom(d, observeValue, c, at, -1, 0, crs)
	sp := observeFrom(&fork, observeValue, xs, at, spikeAt, spike, rs)

	if fresh := detect(c, observeValue); !slices.Equal(fresh, crs) {
		t.Error("the unchanged run observed in two parts differs from one fresh run")
	}
	if fresh := detect(xs, observeValue); !slices.Equal(fresh[at:], rs[at:]) {
		t.Error("the change's run forked at the onset differs from a fresh run over its whole series, or the spike's copy leaked into it")
	}
	withSpike := slices.Clone(xs[:spikeAt+1])
	withSpike[spikeAt] = spike
	if fresh := detect(withSpike, observeValue); fresh[spikeAt] != sp {
		t.Errorf("the spike's result %+v, a fresh run's at that point %+v", sp, fresh[spikeAt])
	}
}

// evenRow is a row whose changed and unchanged series both alarm n times every day.
func evenRow(n int) matureRow {
	var r matureRow
	for d := range afterDays {
		r.CleanAlarms[d] = n
		r.Alarms[d] = n
	}
	return r
}

// settledDay finds the first day from which the change's alarms are within two standard errors
// of the unchanged series', leaving a week to judge by.
func TestSettledDay(t *testing.T) {
	r := evenRow(10)
	if got := r.settledDay(); got != 0 {
		t.Errorf("no excess: settled on day %d, want 0", got)
	}
	for d := range 5 {
		r.Alarms[d] = 60
	}
	if got := r.settledDay(); got != 5 {
		t.Errorf("excess on days 0-4: settled on day %d, want 5", got)
	}
	for d := range afterDays {
		r.Alarms[d] = 20
	}
	if got := r.settledDay(); got != -1 {
		t.Errorf("twice the alarms every day: settled on day %d, want none (-1)", got)
	}
	// Within two standard errors over the last week: 80 against 70 is 0.8 of them.
	for d := range afterDays {
		r.Alarms[d] = 60
	}
	for d := afterDays - 7; d < afterDays; d++ {
		r.Alarms[d] = 11 + d%2
	}
	if got := r.settledDay(); got != afterDays-7 {
		t.Errorf("excess until the last week: settled on day %d, want %d", got, afterDays-7)
	}
	if got := r.settledWeeks(); got != afterDays-7 {
		t.Errorf("excess until the last week: settled by weeks on day %d, want %d", got, afterDays-7)
	}
}

// settledWeeks counts an excess in any week after the day it returns, where settledDay nets a
// later deficit against an early excess.
func TestSettledWeeks(t *testing.T) {
	r := evenRow(10)
	if got := r.settledWeeks(); got != 0 {
		t.Errorf("no excess: settled on day %d, want 0", got)
	}
	// An excess on days 0-2 (90 over 3 days) and none after: the first window without days 0-2
	// starts on day 3.
	for d := range 3 {
		r.Alarms[d] = 40
	}
	if got := r.settledWeeks(); got != 3 {
		t.Errorf("excess on days 0-2: settled on day %d, want 3", got)
	}
	// A larger excess and no alarm after it (the new regime quieter than the old): the sum from
	// day 0 (300 against 280) is within the unchanged series', the week from day 2 (100 against
	// 70) is not.
	for d := range afterDays {
		r.Alarms[d] = 0
	}
	for d := range 3 {
		r.Alarms[d] = 100
	}
	if got, sum := r.settledWeeks(), r.settledDay(); got != 3 || sum != 0 {
		t.Errorf("excess on days 0-2, a deficit after: settled on day %d by weeks and %d by the sum, want 3 and 0", got, sum)
	}
	// An excess in the last week alone: not settled.
	for d := range afterDays {
		r.Alarms[d] = 10
	}
	for d := afterDays - 3; d < afterDays; d++ {
		r.Alarms[d] = 40
	}
	if got := r.settledWeeks(); got != -1 {
		t.Errorf("excess in the last week: settled on day %d, want none (-1)", got)
	}
}

// Every family's mature series, unchanged and with each change, reaches only states whose
// snapshots the decoder accepts and restores exactly, past the tail curves' horizon too.
func TestMatureSnapshotsRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("11-week series")
	}
	const seed = 1
	at := matureOnset(seed)
	for i := range families {
		f := &families[i]
		for _, ch := range append([]change{noChange}, changes...) {
			if ok, _ := f.appliesChange(ch); !ok {
				continue
			}
			xs := generateMature(f, ch, seed, at, maturePoints)
			pts := make([]anomalytest.Point, len(xs))
			for j, x := range xs {
				pts[j] = anomalytest.Point{T: t0.Add(time.Duration(j) * step), V: x}
			}
			if err := anomalytest.Restores(anomaly.DefaultConfig(), pts, f.count, anomalytest.Often); err != nil {
				t.Errorf("%s, %s: %v", f.name, ch, err)
			}
		}
	}
}
