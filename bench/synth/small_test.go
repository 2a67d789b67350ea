package main

import (
	"bytes"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline/anomaly"
	"github.com/weirstream/weir/pipeline/anomaly/anomalytest"
)

func smallByName(name string) *smallCount {
	for i := range smallCounts {
		if smallCounts[i].name == name {
			return &smallCounts[i]
		}
	}
	panic("no small count " + name)
}

// The clean small counts are the Poisson counts small.go states: their means, their zeros at
// e^−m, the daily one at 3 at the weekday peak; each seed its own series, the same every time.
func TestSmallCountsAsStated(t *testing.T) {
	for name, m := range map[string]float64{"poisson 0.1": 0.1, "poisson 0.5": 0.5, "poisson 1": 1, "poisson 3": 3} {
		s := smallByName(name)
		var xs []float64
		for seed := uint64(1); seed <= 10; seed++ {
			xs = append(xs, generateSmall(s, smallClean, seed, 0, youngSeriesPoints)...)
		}
		zeros := 0
		for _, x := range xs {
			if x != math.Round(x) || x < 0 {
				t.Fatalf("%s: %v is not a count", name, x)
			}
			if x == 0 {
				zeros++
			}
		}
		// 40,320 draws: the mean and the share of zeros within 4 standard errors.
		n := float64(len(xs))
		if got := mean(xs); math.Abs(got-m) > 4*math.Sqrt(m/n) {
			t.Errorf("%s: mean %.4f, want %v", name, got, m)
		}
		p0 := math.Exp(-m)
		if got := float64(zeros) / n; math.Abs(got-p0) > 4*math.Sqrt(p0*(1-p0)/n) {
			t.Errorf("%s: zeros at %.4f of the points, want e^-m = %.4f", name, got, p0)
		}
		if v := sd(xs) * sd(xs); math.Abs(v/m-1) > 0.05 {
			t.Errorf("%s: variance %.3f times the mean, want 1 (Poisson)", name, v/m)
		}
	}
	// The daily one on weekdays' 15:00–17:00 and 03:00–05:00 (load 0.99–1 and 0.35–0.36), 20
	// seeds' two weeks.
	d := smallByName("poisson 3 daily")
	var peak, trough []float64
	for seed := uint64(1); seed <= 20; seed++ {
		for i, x := range generateSmall(d, smallClean, seed, 0, youngSeriesPoints) {
			if i/pointsPerDay%7 >= 5 {
				continue
			}
			switch h := i % pointsPerDay / 12; h {
			case 15, 16:
				peak = append(peak, x)
			case 3, 4:
				trough = append(trough, x)
			}
		}
	}
	if p, tr := mean(peak), mean(trough); math.Abs(p-3) > 0.15 || math.Abs(tr-1.06) > 0.1 {
		t.Errorf("poisson 3 daily: weekday peak mean %.3f, trough %.3f, want about 3 and 1.06", p, tr)
	}
	for i := range smallCounts {
		s := &smallCounts[i]
		a := generateSmall(s, smallClean, 7, 0, 3000)
		if b := generateSmall(s, smallClean, 7, 0, 3000); !slices.Equal(a, b) {
			t.Errorf("%s: two series of seed 7 differ", s.name)
		}
		if b := generateSmall(s, smallClean, 8, 0, 3000); slices.Equal(a, b) {
			t.Errorf("%s: seeds 7 and 8 give the same series", s.name)
		}
	}
}

// Each anomaly is the clean series before its onset and after its hour, and in it the counts the
// README states: a burst at ⌈m + 6√m⌉ for 12 points, a stop of 12 zeros, a spike at ⌈m + 10√m⌉.
func TestSmallAnomaliesAsScripted(t *testing.T) {
	const at, n = 1000, 1100
	burst := map[string]float64{"poisson 0.1": 2, "poisson 0.5": 5, "poisson 1": 7, "poisson 3": 14}
	spike := map[string]float64{"poisson 0.1": 4, "poisson 0.5": 8, "poisson 1": 11, "poisson 3": 21}
	for i := range smallCounts {
		s := &smallCounts[i]
		c := generateSmall(s, smallClean, 3, at, n)
		for _, k := range smallKinds {
			xs := generateSmall(s, k, 3, at, n)
			if !slices.Equal(xs[:at], c[:at]) {
				t.Errorf("%s %s: the series differs from the clean one before the onset", s.name, k)
			}
			held := 1
			if k != smallSpike {
				held = 12
			}
			if !slices.Equal(xs[at+held:], c[at+held:]) {
				t.Errorf("%s %s: the series differs from the clean one after its %d points", s.name, k, held)
			}
			for j := at; j < at+held; j++ {
				m := s.mean(j)
				want := map[smallKind]float64{smallBurst: burst[s.name], smallStop: 0, smallSpike: spike[s.name]}[k]
				if s.name == "poisson 3 daily" { // its mean moves: the formula at the point's mean
					want = map[smallKind]float64{smallBurst: math.Ceil(m + 6*math.Sqrt(m)), smallStop: 0, smallSpike: math.Ceil(m + 10*math.Sqrt(m))}[k]
				}
				if xs[j] != want {
					t.Errorf("%s %s: point %d of the hour is %v, want %v", s.name, k, j-at, xs[j], want)
				}
			}
		}
	}
}

// The delays the README states, and the stop row only where an hour of zeros is rare: the
// expected number of runs of 12 zeros starting in a year of the clean series, from its means,
// under 2 where the row applies and over 50 where it does not.
func TestSmallDelaysAndStops(t *testing.T) {
	want := map[smallKind]int{smallBurst: 11, smallStop: 11, smallSpike: 0}
	for _, k := range smallKinds {
		if got := k.delay(); got != want[k] {
			t.Errorf("%s: counted within %d points after the onset, README.md states %d", k, got, want[k])
		}
	}
	for i := range smallCounts {
		s := &smallCounts[i]
		var runs float64 // a run starts at i: a non-zero at i−1, then 12 zeros
		for i := 1; i <= pointsPerWeek; i++ {
			sum := 0.0
			for j := i; j < i+heldPoints; j++ {
				sum += s.mean(j)
			}
			runs += (1 - math.Exp(-s.mean(i-1))) * math.Exp(-sum)
		}
		runs *= 52
		ok, why := s.applies(smallStop)
		if ok && runs > 2 || !ok && runs < 50 || !ok && why == "" {
			t.Errorf("%s: %.3g runs of an hour of zeros a year; stop row applies %v (%q)", s.name, runs, ok, why)
		}
	}
}

// Onsets fall from the series' second day to its last hour, at every hour and on weekends too.
func TestYoungOnsets(t *testing.T) {
	hours, weekend := map[int]bool{}, 0
	for seed := uint64(1); seed <= 200; seed++ {
		at := youngOnset(seed)
		if at < pointsPerDay || at+heldPoints > youngSeriesPoints {
			t.Fatalf("youngOnset(%d) = %d, want in [%d, %d]", seed, at, pointsPerDay, youngSeriesPoints-heldPoints)
		}
		hours[at%pointsPerDay/12] = true
		if at/pointsPerDay%7 >= 5 {
			weekend++
		}
	}
	if a, b := youngOnset(3), youngOnset(3); a != b {
		t.Errorf("youngOnset(3) = %d, then %d", a, b)
	}
	if len(hours) != 24 || weekend < 30 || weekend > 90 {
		t.Errorf("200 onsets fall in %d hours of the day and %d on weekends, want 24 and about 57", len(hours), weekend)
	}
}

// A small count's alarms are counted by age bucket (each bucket's first and last points) and by
// channel; what is not an alarm is not counted.
func TestSmallRowTally(t *testing.T) {
	rs := make([]anomaly.Result, youngSeriesPoints)
	for i, r := range map[int]anomaly.Reason{0: anomaly.ReasonDeviation, pointsPerDay - 1: anomaly.ReasonStopped,
		pointsPerDay: anomaly.ReasonPattern, pointsPerWeek - 1: anomaly.ReasonDeviation,
		pointsPerWeek: anomaly.ReasonRecord, youngSeriesPoints - 1: anomaly.ReasonPattern} {
		rs[i] = anomaly.Result{Alarm: true, Reason: r, Score: 0.5}
	}
	rs[500] = anomaly.Result{Peak: true, Reason: anomaly.ReasonDeviation, Score: 0.4} // a peak, no alarm
	var r smallRow
	r.tally(rs)
	r.tally(make([]anomaly.Result, youngSeriesPoints))
	want := [3][5]int{{0, 1, 0, 1, 0}, {0, 1, 1, 0, 0}, {0, 0, 1, 0, 1}}
	if r.Alarms != want || r.Seeds != 2 || r.Points != [3]int{576, 3456, 4032} {
		t.Errorf("tallied %v over %v points (%d seeds), want %v over [576 3456 4032] (2)", r.Alarms, r.Points, r.Seeds, want)
	}
	if p, a := r.span(0, 2); p != 4032 || a != 4 {
		t.Errorf("week one: %d alarms in %d points, want 4 in 4032", a, p)
	}
	if got := r.channels(0, 2); got != "2/1/1/0" {
		t.Errorf("week one's channels %s, want 2/1/1/0", got)
	}
	var out bytes.Buffer
	printSmall(&out, []smallRow{r}, nil, 2)
	// Day one: 2 alarms in 576 points is 34.7 per 10k; week one 4 in 4032, 9.9; week two 2, 5.0.
	if want := "34.7 (2)        9.9 (4)        5.0 (2)          2/1/1/0          0/1/0/1"; !strings.Contains(out.String(), want) {
		t.Errorf("table lacks %q:\n%s", want, out.String())
	}
}

// -against prints a small count's row that moved, and a save from before the small counts
// (round 96) compares: the earlier rows unchanged, the small counts' new.
func TestSmallAgainst(t *testing.T) {
	base := synthRun{Version: saveVersion, Seeds: 2, Step: "5m0s",
		Small:       []smallRow{{Series: "p/count", Seeds: 2, Points: [3]int{576, 3456, 4032}}},
		SmallDetect: []detectRow{{Series: "p/count", Kind: "stop 1h", Seeds: 2, Detected: 1, MedianBest: 0.4}}}
	cur := base
	cur.Small = []smallRow{base.Small[0]}
	cur.Small[0].Alarms[0][anomaly.ReasonStopped] = 1
	cur.SmallDetect = []detectRow{base.SmallDetect[0]}
	cur.SmallDetect[0].Detected = 2
	var out bytes.Buffer
	if err := compare(&out, base, cur); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"p/count                  0.00 ->  17.36 (+17.36)     0.00 ->   2.48 (+2.48)     0.00 ->   0.00 (+0.00)",
		"p/count                stop 1h          1 -> 2    (  +1)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("comparison lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := compare(&out, synthRun{Version: saveVersion, Seeds: 2, Step: "5m0s"}, cur); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), " new\n"); n != 2 {
		t.Errorf("against a save without small counts, %d rows new, want 2:\n%s", n, out.String())
	}
	// A save from before the small counts is written without their keys.
	path := filepath.Join(t.TempDir(), "older.json")
	if err := writeRun(path, synthRun{Version: saveVersion}); err != nil {
		t.Fatal(err)
	}
	if r, err := readRun(path); err != nil || r.Small != nil || r.SmallDetect != nil {
		t.Errorf("a run without small counts read back with them (%v)", err)
	}
}

// Every small count's series, clean and with each anomaly, reaches only states whose snapshots
// the decoder accepts and restores exactly, as TestFamiliesSnapshotsRestore for the families.
func TestSmallCountsSnapshotsRestore(t *testing.T) {
	const seed = 1
	at := youngOnset(seed)
	for i := range smallCounts {
		s := &smallCounts[i]
		for _, k := range append([]smallKind{smallClean}, smallKinds...) {
			xs := generateSmall(s, k, seed, at, youngSeriesPoints)
			pts := make([]anomalytest.Point, len(xs))
			for j, x := range xs {
				pts[j] = anomalytest.Point{T: t0.Add(time.Duration(j) * step), V: x}
			}
			if err := anomalytest.Restores(anomaly.DefaultConfig(), pts, true, anomalytest.Often); err != nil {
				t.Errorf("%s, %s: %v", s.name, k, err)
			}
		}
	}
}
