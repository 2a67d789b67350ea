package anomaly

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// recordsLoad is the records series' share of its daily peak at point i (5-minute points): a 3:1
// day peaking at 16:00, weekends at 60%.
func recordsLoad(i int) float64 {
	const day = 288
	h := float64(i%day) / day * 24
	s := 0.35 + 0.65*(0.5+0.5*math.Sin(2*math.Pi*(h-10)/24))
	if i/day%7 >= 5 {
		s *= 0.6
	}
	return s
}

// recordsLevelChange is a mature records-like series (bench/synth's mature rows, round 74): a
// window's records, 20,000 at the peak of a 3:1 daily load with weekends at 60%, 5% noise and
// Poisson's, for six weeks and a seeded part of the seventh; then the level doubles and holds.
// It returns the series, the change's onset, and a spike of 10 of the new regime's scales two
// weeks after it.
func recordsLevelChange(seed uint64) (xs []float64, at, spikeAt int, spike float64) {
	const day, week = 288, 2016
	r := rand.New(rand.NewPCG(seed, 89))
	at = 6*week + r.IntN(week)
	spikeAt = at + 2*week
	xs = make([]float64, spikeAt+1)
	for i := range xs {
		m := 20000 * recordsLoad(i)
		if i >= at {
			m *= 2
		}
		xs[i] = math.Round(m + 0.05*m*r.NormFloat64() + math.Sqrt(m)*r.NormFloat64())
	}
	m := 40000 * recordsLoad(spikeAt)
	return xs, at, spikeAt, xs[spikeAt] + 10*math.Sqrt(m+0.0025*m*m)
}

// After a mature series' level doubles and holds, the new regime is the series' ordinary
// behaviour: a spike in it two weeks later is news as it would have been before the change (on
// the unchanged series bench/synth flags it on 49 of 50 seeds), while the change's own first day
// pages no more than it did before (20 alarms over these ten seeds, at 7bc8de1 as at 9772f4c,
// where the spike was flagged on 2). Before lasting.go the residual's tail curve counted the
// forecaster's re-settling after the change point by point, 10 to 27 events at levels the series
// had never reached, and for weeks scored the spike as routine (bench/nab/DECISIONS.md, round 89,
// whose test this is).
func TestSpikeAfterALevelChangeIsFlagged(t *testing.T) {
	const seeds, day = 10, 288
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	flagged, firstDay := 0, 0
	for seed := uint64(1); seed <= seeds; seed++ {
		xs, at, spikeAt, spike := recordsLevelChange(seed)
		d := New(DefaultConfig())
		for i, v := range xs[:spikeAt] {
			if r := d.ObserveCount(t0.Add(time.Duration(i)*5*time.Minute), v); r.Alarm && i >= at && i < at+day {
				firstDay++
			}
		}
		if d.ObserveCount(t0.Add(time.Duration(spikeAt)*5*time.Minute), spike).Alarm {
			flagged++
		}
	}
	t.Logf("spike flagged on %d of %d seeds; %d alarms on the change's first day", flagged, seeds, firstDay)
	if flagged < 8 {
		t.Errorf("a spike two weeks into the new regime flagged on %d of %d seeds, want at least 8", flagged, seeds)
	}
	if firstDay > 20 {
		t.Errorf("the change's first day raised %d alarms over %d seeds, want at most the 20 before round 89", firstDay, seeds)
	}
}

// TestSnapshotMidExcursion: a snapshot taken while the excursion of a level change is still open
// restores a detector that recognises it at its close as the original does and judges every point
// after, to the spike two weeks on, identically: the excursion and the residual curve kept at its
// first point are state (version 15).
func TestSnapshotMidExcursion(t *testing.T) {
	const seed = 1
	xs, at, spikeAt, spike := recordsLevelChange(seed)
	xs = append(xs[:spikeAt], spike)
	at0 := func(i int) time.Time { return t0.Add(time.Duration(i) * step) }
	orig := New(DefaultConfig())
	for i := range at + 20 {
		orig.ObserveCount(at0(i), xs[i])
	}
	if !orig.last.open || orig.last.k < 2 {
		t.Fatalf("20 points after the change no excursion is under way (%+v): the test checks nothing", orig.last)
	}
	restored := roundTrip(t, orig)
	recognised := false
	for i := at + 20; i < len(xs); i++ {
		open := orig.last.open
		want, got := orig.ObserveCount(at0(i), xs[i]), restored.ObserveCount(at0(i), xs[i])
		if got != want {
			t.Fatalf("%d points after the change, after the restore: %+v, want %+v", i-at, got, want)
		}
		recognised = recognised || open && !orig.last.open && orig.last.met
	}
	if !recognised {
		t.Error("the change was not recognised as a lasting one: the test checks nothing")
	}
}

// TestSnapshotRefusesAnExcursionOutOfRange: a snapshot whose open excursion holds what no detector
// writes is refused, and one whose excursion a detector could have written is accepted and keeps
// working. The run and the inside count are int32 and count one a point while the excursion is
// open, the run only until it is met: a detector writes them below maxQuiet there (below the Quiet
// it ran under). Accepted at math.MaxInt32 (within maxCounter), the next point wrapped either to
// −2^31 and the restored detector's own next snapshot was refused ("counter out of range"): the
// series' history lost at the next restart.
func TestSnapshotRefusesAnExcursionOutOfRange(t *testing.T) {
	xs, at, _, _ := recordsLevelChange(1)
	open := func() *Detector {
		d := New(DefaultConfig())
		for i := range at + 20 {
			d.ObserveCount(t0.Add(time.Duration(i)*step), xs[i])
		}
		if !d.last.open || d.last.met || d.last.sign == 0 {
			t.Fatalf("20 points after the change no excursion is open and counting its run (%+v): the test checks nothing", d.last)
		}
		return d
	}
	for name, spoil := range map[string]func(*lasting){
		"run wraps":             func(l *lasting) { l.run = math.MaxInt32 },
		"run at maxQuiet":       func(l *lasting) { l.run = maxQuiet },
		"inside wraps":          func(l *lasting) { l.inside = math.MaxInt32 },
		"inside at maxQuiet":    func(l *lasting) { l.inside = maxQuiet },
		"negative run":          func(l *lasting) { l.run = -1 },
		"negative inside":       func(l *lasting) { l.inside = -1 },
		"negative points":       func(l *lasting) { l.k = -1 },
		"side beyond ±1":        func(l *lasting) { l.sign = 2 },
		"negative deviation":    func(l *lasting) { l.devRef = -1 },
		"negative kept rate":    func(l *lasting) { l.was.surprise[3] = -1 },
		"negative kept top":     func(l *lasting) { l.was.top = -1 },
		"non-finite deviation":  func(l *lasting) { l.devRef = math.Inf(1) },
		"non-finite kept rates": func(l *lasting) { l.was.surprise[0] = math.NaN() },
	} {
		d := open()
		spoil(&d.last)
		b, err := d.MarshalMsgpack()
		if err != nil {
			t.Fatal(err)
		}
		if err := new(Detector).UnmarshalMsgpack(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// What a detector can write: a run that was met or an excursion that closed keeps its count
	// and never counts again, up to the largest Quiet.
	for name, edit := range map[string]func(*lasting){
		"met at maxQuiet":        func(l *lasting) { l.run, l.met = maxQuiet, true },
		"closed at maxQuiet":     func(l *lasting) { l.inside, l.open = maxQuiet, false },
		"open below maxQuiet":    func(l *lasting) { l.run, l.inside = maxQuiet-1, maxQuiet-1 },
		"closed, counts wrapped": func(l *lasting) { l.run, l.inside, l.open = math.MaxInt32, math.MaxInt32, false },
	} {
		d := open()
		edit(&d.last)
		r := roundTrip(t, d)
		for i := at + 20; i < at+300; i++ {
			r.ObserveCount(t0.Add(time.Duration(i)*step), xs[i])
		}
		if err := new(Detector).UnmarshalMsgpack(mustSnapshot(t, r)); err != nil {
			t.Errorf("%s: the restored detector's own snapshot refused 280 points on: %v", name, err)
		}
	}
}

func mustSnapshot(t *testing.T, d *Detector) []byte {
	t.Helper()
	b, err := d.MarshalMsgpack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// burstyWeekThenChange is recordsLevelChange's mature series with a week of routine bursts (8 to 20
// of the series' scales, every 30 to 60 points) before the level doubles and holds; the bursts go on
// for half a day into the new regime, pause two days, and resume for a day from resume.
func burstyWeekThenChange(seed uint64) (xs []float64, resume int) {
	const day, week = 288, 2016
	r := rand.New(rand.NewPCG(seed, 117))
	bursts := 6 * week
	change := bursts + week
	resume = change + 2*day
	xs = make([]float64, resume+day)
	next := bursts
	for i := range xs {
		m := 20000 * recordsLoad(i)
		if i >= change {
			m *= 2
		}
		x := m + 0.05*m*r.NormFloat64() + math.Sqrt(m)*r.NormFloat64()
		switch {
		case i < bursts || i >= change+day/2 && i < resume:
			next = i + 1
		case i >= next:
			x += (8 + 12*r.Float64()) * math.Sqrt(m+0.0025*m*m)
			next = i + 30 + r.IntN(30)
		}
		xs[i] = math.Round(x)
	}
	return xs, resume
}

// A week of routine bursts before a lasting change is the series' ordinary behaviour, and stays
// counted when the change is recognised: the bursts of the day after raise no more alarms than on
// the same detector with the lasting change disarmed (no excursion ever met). With the curve kept
// at its first point, the excursion a burst opened a week before the change spanned the whole week,
// and at its close every level the bursts had first reached was un-counted at once: 13 alarms
// against 11 over these seeds (bench/nab/DECISIONS.md, rounds 117 and 121; the test is round 117's,
// from anomaly117-proto).
func TestBurstyWeekIsNotUncountedAtOnce(t *testing.T) {
	const seeds = 10
	alarms, disarmed := 0, 0
	for seed := uint64(1); seed <= seeds; seed++ {
		xs, resume := burstyWeekThenChange(seed)
		d, off := New(DefaultConfig()), New(DefaultConfig())
		for i, v := range xs {
			off.last.run, off.last.met = 0, false
			at := t0.Add(time.Duration(i) * step)
			a, b := d.ObserveCount(at, v), off.ObserveCount(at, v)
			if i >= resume && a.Alarm {
				alarms++
			}
			if i >= resume && b.Alarm {
				disarmed++
			}
		}
	}
	t.Logf("the resumed day's bursts: %d alarms over %d seeds, %d with the lasting change disarmed", alarms, seeds, disarmed)
	if disarmed == 0 {
		t.Fatal("no alarm in the resumed day even disarmed: the test checks nothing")
	}
	if alarms > disarmed {
		t.Errorf("the resumed day raised %d alarms, want at most the %d of a detector whose excursions are never met", alarms, disarmed)
	}
}

// TestSnapshotAfterAKeptCurve: a snapshot taken while an excursion that re-took its curve at an
// ordinary point is met (the level has held, the close not yet come) restores a detector that judges
// every point after identically, to the spike two weeks on: the close sets back to the re-taken
// curve, which is state (it fails with the curve taken afresh at the restore).
func TestSnapshotAfterAKeptCurve(t *testing.T) {
	xs, _, spikeAt, spike := recordsLevelChange(4) // its change's excursion opened before the change
	xs = append(xs[:spikeAt], spike)               // the spike prices the levels set back
	at0 := func(i int) time.Time { return t0.Add(time.Duration(i) * step) }
	orig := New(DefaultConfig())
	from, retaken := -1, false
	for i := 0; i < len(xs) && from < 0; i++ {
		open, k := orig.last.open, orig.last.k
		orig.ObserveCount(at0(i), xs[i])
		switch {
		case !orig.last.open:
			retaken = false
		case open && orig.last.k < k:
			retaken = true
		case retaken && orig.last.met:
			from = i + 1
		}
	}
	if from < 0 {
		t.Fatal("no excursion that re-took its curve was met: the test checks nothing")
	}
	restored := roundTrip(t, orig)
	setBack := false
	for i := from; i < len(xs); i++ {
		open, before := orig.last.open, orig.resid.c
		want, got := orig.ObserveCount(at0(i), xs[i]), restored.ObserveCount(at0(i), xs[i])
		if got != want {
			t.Fatalf("%d points after the restore: %+v, want %+v", i-from, got, want)
		}
		if open && !orig.last.open && orig.last.met {
			for j, x := range curveLevels {
				// A set-back level is rarer than the point's learning alone left it.
				setBack = setBack || x > orig.last.was.top && orig.resid.c.surprise[j] > before.surprise[j]+1e-6
			}
		}
	}
	if !setBack {
		t.Error("no level was set back after the restore: the test checks nothing")
	}
}

// TestSnapshotKeepsTheCountSinceARetake: the points since the excursion's curve was kept (k) are
// state: the close decays the levels it sets back by them (restore), so a detector restored between
// a re-take and the close must carry them. TestSnapshotAfterAKeptCurve compares Results only, and a
// count lost at its restore moves none of them: a level set back is one the kept curve had never
// seen reached (above its top), so its rate is at or below nominal, decayed or not, and the curve
// maps it at its nominal level either way; the count shows only once a later point reaches the level
// again and a point after that is priced through it. Here, under the default settings, Quiet 10 and
// 300 and Memory 1000, on series whose excursions re-took their curves before they were met,
// restored at the point each is met, the whole state (snapshot bytes)
// must match the detector never restored at every point from the restore to a day after the close,
// and the Results must match through spikes of 10 to 17 times 5% of the value (the series' scale)
// after that, each re-reaching levels the next is priced through. With the count dropped from the
// snapshot (restored as 0) the state differs at the close on all 12 restores (4, 2, 2 and 4 seeds),
// and, at the defaults without the state check, a score moves at seed 7's third spike (round 124).
func TestSnapshotKeepsTheCountSinceARetake(t *testing.T) {
	const day, spikes, apart = 288, 8, 100
	at0 := func(i int) time.Time { return t0.Add(time.Duration(i) * step) }
	// restoreAt returns the point after which the first excursion that re-took its curve is met
	// with points counted since, and that excursion's close; -1 when there is none.
	restoreAt := func(cfg Config, xs []float64) (from, closed int) {
		d, retaken := New(cfg), false
		from, closed = -1, -1
		for i := 0; i < len(xs) && closed < 0; i++ {
			open, k := d.last.open, d.last.k
			d.ObserveCount(at0(i), xs[i])
			switch {
			case from >= 0 && !d.last.open:
				closed = i
			case !d.last.open:
				retaken = false
			case open && d.last.k < k:
				retaken = true
			case retaken && d.last.met && d.last.k > 0 && from < 0:
				from = i + 1
			}
		}
		return from, closed
	}
	quiet10, quiet300, memory1000 := DefaultConfig(), DefaultConfig(), DefaultConfig()
	quiet10.Quiet, quiet300.Quiet, memory1000.Memory = 10, 300, 1000
	for _, c := range []struct {
		name string
		cfg  Config
	}{{"default", DefaultConfig()}, {"Quiet 10", quiet10}, {"Quiet 300", quiet300}, {"Memory 1000", memory1000}} {
		checked := 0
		for seed := uint64(1); seed <= 10; seed++ {
			xs, _, spikeAt, _ := recordsLevelChange(seed)
			from, closed := restoreAt(c.cfg, xs[:spikeAt])
			if closed < 0 {
				continue
			}
			checked++
			end := closed + day + spikes*apart
			if end > len(xs) {
				t.Fatalf("seed %d: the close leaves no room for the spikes before the series ends", seed)
			}
			xs = append([]float64(nil), xs[:end]...)
			for j := range spikes {
				i := closed + day + j*apart
				xs[i] += float64(10+j) * 0.05 * xs[i]
			}
			orig := New(c.cfg)
			for i := range from {
				orig.ObserveCount(at0(i), xs[i])
			}
			restored := roundTrip(t, orig)
			for i := from; i < end; i++ {
				want, got := orig.ObserveCount(at0(i), xs[i]), restored.ObserveCount(at0(i), xs[i])
				if got != want {
					t.Errorf("%s seed %d: %d points after a restore between a re-take and the close (%d points after the close): %+v, want %+v", c.name, seed, i-from, i-closed, got, want)
					break
				}
				if i < closed+day && !bytes.Equal(mustSnapshot(t, restored), mustSnapshot(t, orig)) {
					t.Errorf("%s seed %d: %d points after a restore between a re-take and the close (%d points after the close), the state differs from the detector never restored", c.name, seed, i-from, i-closed)
					break
				}
			}
		}
		if checked == 0 {
			t.Errorf("%s: no excursion that re-took its curve was met and closed: the test checks nothing", c.name)
		}
		t.Logf("%s: %d of 10 seeds restored between a re-take and the close", c.name, checked)
	}
}
