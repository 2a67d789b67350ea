package anomaly

import (
	"bytes"
	"math"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestSnapshotRoundTrip(t *testing.T) {
	// A seasonal series with a level shift: the snapshot is taken mid-episode, after the
	// profiles and the context memory have filled, so every part of the state matters.
	xs := series(6*288, 11, daily)
	for i := 4 * 288; i < len(xs); i++ {
		xs[i] += 30
	}
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * step) }
	cut := 4*288 + 5

	orig := New(DefaultConfig())
	for i := 0; i < cut; i++ {
		orig.Observe(at(i), xs[i])
	}
	restored := roundTrip(t, orig)
	for i := cut; i < len(xs); i++ {
		want, got := orig.Observe(at(i), xs[i]), restored.Observe(at(i), xs[i])
		if got != want {
			t.Fatalf("point %d after restore: %+v, want %+v", i, got, want)
		}
	}
	b2, _ := orig.MarshalMsgpack()
	b3, _ := restored.MarshalMsgpack()
	if string(b2) != string(b3) {
		t.Error("snapshots of the original and the restored detector differ")
	}
}

func TestSnapshotRejectsGarbage(t *testing.T) {
	d := New(DefaultConfig())
	d.Observe(t0, 1)
	good, err := d.MarshalMsgpack()
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"empty":     nil,
		"truncated": good[:len(good)/2],
		"not array": {0xc0},
		"version":   append([]byte{good[0], 0x7f}, good[2:]...),
	} {
		before := *d
		if err := d.UnmarshalMsgpack(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if *d != before {
			t.Errorf("%s: detector changed by a failed restore", name)
		}
	}
}

// TestSnapshotRefusesAHugeLengthWithoutAllocatingIt: a corrupt snapshot whose byte field (the
// contexts' fingerprints, 2,048 bytes) declares 4 GiB is refused having allocated about what a
// snapshot takes. Read by msgpack's DecodeBytes, such a length was allocated and zeroed whole
// before the short read failed: 4 GiB and seconds per corrupt snapshot of a few kilobytes
// (FuzzUnmarshalMsgpack's watchdog, round 76).
func TestSnapshotRefusesAHugeLengthWithoutAllocatingIt(t *testing.T) {
	d := New(DefaultConfig())
	for i, x := range series(50, 12, flat) {
		d.Observe(t0.Add(time.Duration(i)*step), x)
	}
	good, err := d.MarshalMsgpack()
	if err != nil {
		t.Fatal(err)
	}
	// The fingerprints are the only field written as a bin 16 of 2,048 bytes.
	head := []byte{0xc5, 0x08, 0x00}
	if bytes.Count(good, head) != 1 {
		t.Fatalf("want one bin 16 header of 2,048 bytes in the snapshot, found %d", bytes.Count(good, head))
	}
	bad := bytes.Replace(good, head, []byte{0xc6, 0xff, 0xff, 0xff, 0xff}, 1)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err = new(Detector).UnmarshalMsgpack(bad)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Error("accepted a snapshot whose fingerprints declare 4 GiB")
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Errorf("refusing it allocated %d bytes, want at most 1 MiB", got)
	}
}

func TestSnapshotRejectsNegativeScale(t *testing.T) {
	d := New(DefaultConfig())
	for i, x := range series(300, 15, flat) {
		d.Observe(t0.Add(time.Duration(i)*step), x)
	}
	d.novel.s.vari = -1 // would make the next score NaN
	b, err := d.MarshalMsgpack()
	if err != nil {
		t.Fatal(err)
	}
	var r Detector
	if err := r.UnmarshalMsgpack(b); err == nil {
		t.Error("accepted a snapshot with a negative variance")
	}
}

func FuzzUnmarshalMsgpack(f *testing.F) {
	d := New(DefaultConfig())
	for i, x := range series(500, 12, flat) {
		d.Observe(t0.Add(time.Duration(i)*step), x)
	}
	good, _ := d.MarshalMsgpack()
	f.Add(good)
	// A series in its first day, whose snapshot carries a day-one trend that is kept (version
	// 14's last fields), and version 13's of one, whose restore starts it.
	young := New(DefaultConfig())
	for i, x := range series(100, 12, daily) {
		young.Observe(t0.Add(time.Duration(i)*step), x)
	}
	day1, _ := young.MarshalMsgpack()
	f.Add(day1)
	v13, err := os.ReadFile("testdata/detector-v13-young.msgpack")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(v13)
	// A lasting change's excursion under way (version 15's last fields, lasting.go), so that the
	// fuzzer mutates an open one's counts and kept curve.
	xs, at, _, _ := recordsLevelChange(1)
	mid := New(DefaultConfig())
	for i := range at + 20 {
		mid.ObserveCount(t0.Add(time.Duration(i)*step), xs[i])
	}
	excursion, _ := mid.MarshalMsgpack()
	f.Add(excursion)
	// A stall owed its page (version 17's last fields, decision 470) and a stop told (version
	// 16's), so that the fuzzer mutates a run's state with its run under way.
	stalled, at := stalledUserSeries(userFamilies[0], 1, 2*pointsPerDay)
	stalled[at-5] += spikeOfScales(userFamilies[0].name, at-5, 10)
	owing := New(DefaultConfig())
	for i, x := range stalled {
		owing.Observe(t0.Add(time.Duration(i)*step), x)
		if owing.stuck.owed > 0 {
			break
		}
	}
	if owing.stuck.owed == 0 {
		f.Fatal("the stall after a spike was never owed its page")
	}
	owedSnap, _ := owing.MarshalMsgpack()
	f.Add(owedSnap)
	told, err := os.ReadFile("testdata/detector-v16.msgpack")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(told)
	f.Add([]byte{})
	f.Add([]byte{0x91, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		// A snapshot must never hang its reader either: a watchdog turns a hang into a crash
		// the fuzzer reports with its input.
		watchdog := time.AfterFunc(5*time.Second, func() { panic("UnmarshalMsgpack+Observe took > 5s") })
		defer watchdog.Stop()
		var d Detector
		if err := d.UnmarshalMsgpack(b); err != nil {
			return
		}
		// Whatever was accepted must be usable: no panic, a score in [0, 1], a finite band, and
		// a state whose own snapshot is accepted in turn.
		for i := 0; i < 3; i++ {
			r := d.Observe(t0.Add(time.Duration(i)*step), float64(i))
			if !(r.Score >= 0 && r.Score <= 1) {
				t.Fatalf("restored detector scored %v", r.Score)
			}
			if !finite(r.Expected, r.Lower, r.Upper) {
				t.Fatalf("restored detector's band %v ≤ %v ≤ %v", r.Lower, r.Expected, r.Upper)
			}
		}
		again, err := d.MarshalMsgpack()
		if err != nil {
			t.Fatal(err)
		}
		if err := new(Detector).UnmarshalMsgpack(again); err != nil {
			t.Fatalf("the restored detector's own snapshot refused: %v", err)
		}
	})
}

// TestSnapshotRejectsBadRecords: a records range upside down (every value a record), a
// record rate above 1 (a negative surprise), a value tail out of range, a share of repeats
// outside [0, 1] or a negative count of them, or a negative usual interval or count of points
// timed is refused.
func TestSnapshotRejectsBadRecords(t *testing.T) {
	refusesEach(t, series(300, 15, flat), map[string]func(*Detector){
		"range upside down": func(d *Detector) { d.rec.lo, d.rec.hi = d.rec.hi+1, d.rec.lo },
		"rate above 1":      func(d *Detector) { d.rec.rate = 2 },
		"negative rate":     func(d *Detector) { d.rec.rate = -0.5 },
		// The value tail (valuetail.go): a share of points, a bin index, a gap.
		"value tail rate above 1": func(d *Detector) { d.vt.rate[3] = 2 },
		"value tail bin":          func(d *Detector) { d.vt.prev = 2 * valueSpan },
		"negative gap":            func(d *Detector) { d.vt.gap[5] = -1 },
		"negative trips":          func(d *Detector) { d.vt.trips[5] = -1 },
		// Trips are counted one at a time from 0: a count below one but above zero made 1/trips
		// +Inf, the gap +Inf and the detector's next snapshot refused (FuzzUnmarshalMsgpack,
		// round 73's input: 7.1e-317); a fraction or a negative zero is no count either.
		"subnormal trips":     func(d *Detector) { d.vt.trips[5] = 7.1e-317 },
		"fractional trips":    func(d *Detector) { d.vt.trips[5] = 0.5 },
		"trips not whole":     func(d *Detector) { d.vt.trips[5] = 3.25 },
		"negative zero trips": func(d *Detector) { d.vt.trips[5] = math.Copysign(0, -1) },
		// The repeats (stuck.go): a share of points compared with bodyShare, a count.
		"share of repeats above 1": func(d *Detector) { d.rep.share = 1.5 },
		"negative repeats count":   func(d *Detector) { d.rep.n = -1 },
		// The usual interval (interval.go): a negative one would make every spacing a gap, a
		// negative count of points timed a rate of 1/0.
		"negative interval": func(d *Detector) { d.fc.step = -300 },
		"negative count":    func(d *Detector) { d.fc.timed = -1 },
	})
}

// TestSnapshotRefusesARunsStateWithoutItsRun: what a detector keeps of a run lives only while the
// run does (stuck.go, zeros.go, detector.go): a stall's held price, its owed report and whether it
// has been paged are set at a repeat and cleared with the run; a run of zeros is told at one of its
// zeros and untold at its end. A snapshot carrying them without the run (a corrupt one: no detector
// writes it) is refused. Accepted, the next run inherited them: a told flag silenced the pattern
// channel at the zeros of a stop never reported, a paged flag took a new stall's owed page away, an
// owed report (up to 1e305) or a held price made a new stall's first repeats report it.
func TestSnapshotRefusesARunsStateWithoutItsRun(t *testing.T) {
	xs := series(300, 15, flat)
	d := New(DefaultConfig())
	for i, x := range xs {
		d.Observe(t0.Add(time.Duration(i)*step), x)
	}
	if d.stuck.run != 0 || d.stops.run != 0 {
		t.Fatalf("the series ends in a run (stuck %d, zeros %d): no case below is without one", d.stuck.run, d.stops.run)
	}
	refusesEach(t, xs, map[string]func(*Detector){
		"told with no run of zeros":   func(d *Detector) { d.stops.told = true },
		"owed with no stuck run":      func(d *Detector) { d.stuck.owed = 3 },
		"huge owed with no stuck run": func(d *Detector) { d.stuck.owed = 1e305 },
		"paged with no stuck run":     func(d *Detector) { d.stuck.paged = true },
		"held with no stuck run":      func(d *Detector) { d.stuck.held = 5 },
		// A run under way before its gate has no price yet, so nothing owed or paged; and a run
		// paged owes nothing.
		"owed before the gate":  func(d *Detector) { d.stuck.run, d.stuck.owed = 3, 3 },
		"paged before the gate": func(d *Detector) { d.stuck.run, d.stuck.paged = 3, true },
		"owed and paged": func(d *Detector) {
			d.stuck.run, d.stuck.held, d.stuck.owed, d.stuck.paged = 20, 5, 3, true
		},
	})
}

// refusesEach checks that the snapshot of a detector that observed xs, spoiled by each of
// spoils in turn, is refused.
func refusesEach(t *testing.T, xs []float64, spoils map[string]func(*Detector)) {
	t.Helper()
	for name, spoil := range spoils {
		d := New(DefaultConfig())
		for i, x := range xs {
			d.Observe(t0.Add(time.Duration(i)*step), x)
		}
		spoil(d)
		b, err := d.MarshalMsgpack()
		if err != nil {
			t.Fatal(err)
		}
		if err := new(Detector).UnmarshalMsgpack(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// restored is one field of a restored snapshot and the value the code that wrote it printed.
type restored struct {
	name      string
	got, want any
}

// readOldSnapshot restores testdata/file, a snapshot of an earlier version; checks the fields
// fields lists; resumes observing a daily cycle for a day; and checks that the detector is
// saved and restored again, exactly, in the current version. It returns the detector.
func readOldSnapshot(t *testing.T, file string, fields func(d *Detector) []restored) *Detector {
	t.Helper()
	b, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var d Detector
	if err := d.UnmarshalMsgpack(b); err != nil {
		t.Fatalf("%s refused: %v", file, err)
	}
	for _, c := range fields(&d) {
		if c.got != c.want {
			t.Errorf("%s restored as %v, want %v", c.name, c.got, c.want)
		}
	}
	for i := 869; i < 869+288; i++ {
		r := d.Observe(t0.Add(time.Duration(i)*step), daily(i))
		if !finite(r.Score, r.Expected, r.Lower, r.Upper) {
			t.Fatalf("point %d after the restore: %+v", i, r)
		}
	}
	b2, err := d.MarshalMsgpack()
	if err != nil {
		t.Fatal(err)
	}
	var again Detector
	if err := again.UnmarshalMsgpack(b2); err != nil || again != d {
		t.Fatalf("the restored detector's own snapshot: %v (equal: %v)", err, again == d)
	}
	return &d
}

// dailySnapshotFields lists the fields of testdata/detector-v6.msgpack and detector-v7.msgpack
// (both saved after 869 points of a daily cycle with a spike of 500 at point 700, by code whose
// detector differed only in the records), with rec the records each restores.
func dailySnapshotFields(d *Detector, rec records) []restored {
	// As the old code printed them.
	curve := [numLevels]float64{2.0287486169670204, 3.000443043096125, 4.36463414643871, 6.156654000852426, 8.51319063170644, 9.40379370380468, 9.406661065362083, 9.406662512119416, 9.406662512135766, 9.406662512135766}
	reports := [numLevels]float64{2.055799765196147, 3.0343244621976, 4.45577825745925, 6.362441125965869, 8.51319063170644, 9.40379370380468, 9.406661065362083, 9.406662512119416, 9.406662512135766, 9.406662512135766}
	return []restored{
		{"n", d.n, int64(869)},
		{"fc.level", d.fc.level, 93.05437925704356},
		{"fc.dev", d.fc.dev, 0.5213586018551726},
		{"cx.last", d.cx.last, uint64(3103953129319895940)},
		{"resid.s.mean", d.resid.s.mean, 1.0190443298252574},
		{"resid.c", d.resid.c.surprise, curve},
		{"novel.t.low", d.novel.t.low, 0.04905061847028249},
		{"stops.n", d.stops.n, int64(869)},
		{"reports", d.reports.surprise, reports},
		{"pk.head", d.pk.head, 11},
		{"pk.cur", d.pk.cur, 1.5162733721961674},
		{"pk.in", d.pk.in, 4},
		{"rec", d.rec, rec},
		{"vt", d.vt, valueTail{}},
	}
}

// TestSnapshotMidStall: a snapshot taken five points into a stall, before the stuck-value
// channel has judged it, restores a detector that judges it as the original does, point for
// point: the run, its price and the series' longest run are state (version 11).
func TestSnapshotMidStall(t *testing.T) {
	const seed = 3
	at := 21*pointsPerDay + 100
	xs := userFamilies[1].gen(seed, at+pointsPerDay)
	for i := at; i < len(xs); i++ {
		xs[i] = xs[at-1]
	}
	cut := at + 5
	orig := New(DefaultConfig())
	for i := 0; i < cut; i++ {
		orig.Observe(t0.Add(time.Duration(i)*step), xs[i])
	}
	restored := roundTrip(t, orig)
	alarmed := false
	for i := cut; i < len(xs); i++ {
		want, got := orig.Observe(t0.Add(time.Duration(i)*step), xs[i]), restored.Observe(t0.Add(time.Duration(i)*step), xs[i])
		if got != want {
			t.Fatalf("%d points into the stall, after the restore: %+v, want %+v", i-at, got, want)
		}
		alarmed = alarmed || want.Alarm && i <= at+12
	}
	if !alarmed {
		t.Errorf("the stall was not flagged within 12 points: the test checks nothing")
	}
}

// TestSnapshotAcrossAGap: a snapshot taken before a gap in reporting (a restart during an
// exporter's outage) restores a detector that judges the points after the gap as the original
// does, point for point: the usual interval and the previous point's time are state (version 13).
func TestSnapshotAcrossAGap(t *testing.T) {
	const seed = 2
	at := 21*pointsPerDay + 100
	xs := userFamilies[1].gen(seed, at+pointsPerDay+12)
	orig := New(DefaultConfig())
	for i := 0; i < at; i++ {
		orig.Observe(t0.Add(time.Duration(i)*step), xs[i])
	}
	restored := roundTrip(t, orig)
	for i := at + pointsPerDay; i < len(xs); i++ {
		want, got := orig.Observe(t0.Add(time.Duration(i)*step), xs[i]), restored.Observe(t0.Add(time.Duration(i)*step), xs[i])
		if got != want {
			t.Fatalf("%d points after the gap, after the restore: %+v, want %+v", i-at-pointsPerDay, got, want)
		}
	}
}

// restoredV9AndV10 is what the version-9 and version-10 snapshots in testdata hold in common:
// both were saved after 869 points of series(869, 7, daily) with a spike of 500 at point 700,
// by detectors that differ only in state those versions added. Values as the old code printed
// them.
func restoredV9AndV10(d *Detector) []restored {
	curve := [numLevels]float64{2.016571232314465, 2.9922570319954693, 4.448299406990849, 6.360672806676503, 9.032427095367257, 9.40379370380468, 9.406661065362083, 9.406662512119416, 9.406662512135766, 9.406662512135766}
	return []restored{
		{"n", d.n, int64(869)},
		{"fc.level", d.fc.level, 97.9719802073806},
		{"resid.c", d.resid.c.surprise, curve},
		{"pk.cur", d.pk.cur, 0.8721880432263853},
		{"rec", d.rec, records{n: 869, lo: 77.56457299287153, hi: 500, rate: 0.004602991944764101}},
		{"vt.n", d.vt.n, int64(869)},
		{"vt.prev", d.vt.prev, 24},
		{"resid.c.top", d.resid.c.top, 2440.989432969306},
		{"reports.top", d.reports.top, 2446.294052195124},
		{"stops.c.top", d.stops.c.top, 0.0},
	}
}

// TestSnapshotReadsVersions11And12: snapshots written by the detector before the usual interval
// (testdata/detector-v11.msgpack, version 11, before the time zone too; detector-v12.msgpack,
// version 12, which carries the zone; both saved by that code after 869 points of series(869, 7,
// daily) with a spike of 500 at point 700, at t0 + i·step) restore with every field at the value
// the old one wrote, the clock in UTC (the only one version 11 read), the usual interval starting
// as for a new series (no previous time, so the first point after the restore is no gap however
// long the restart took), and resume observing: after the 288 points readOldSnapshot feeds them,
// the interval is the points' step.
func TestSnapshotReadsVersions11And12(t *testing.T) {
	for _, file := range []string{"detector-v11.msgpack", "detector-v12.msgpack"} {
		d := readOldSnapshot(t, file, func(d *Detector) []restored {
			return append(restoredV9AndV10(d),
				restored{"rep", d.rep, repeats{n: 869, last: 102.8645165053583, share: 0}},
				restored{"stuck.n", d.stuck.n, int64(869)},
				restored{"fc.visited", d.fc.visited, [2]uint64{281474976710655, 0}},
				restored{"fc.profile[0][10]", d.fc.profile[0][10], 15.59137095905609},
				restored{"fc.dev", d.fc.dev, 1.0869246723086943},
				restored{"zone", d.p.zone, "UTC"},
				restored{"loc", d.p.loc, (*time.Location)(nil)},
				restored{"fc.timed", d.fc.timed, int64(0)},
				restored{"fc.last", d.fc.last, int64(0)},
				restored{"fc.step", d.fc.step, 0.0},
				restored{"young", d.young, youngTrend{over: true}})
		})
		if d.fc.timed != 288 || d.fc.step != step.Seconds() {
			t.Errorf("%s: after 288 points the interval has timed %d points at %v s, want 288 at %v",
				file, d.fc.timed, d.fc.step, step.Seconds())
		}
	}
}

// TestOldSeriesIsNotYoungAfterRestore: a series restored from a snapshot written before the usual
// interval was kept (version 12 and older: 869 points, three days at 5 minutes) has timed none of
// its points, so its age cannot be told by its time, and it is not young (young.go), though by its
// points it is inside its first week. Its next day reports what main's score says: the same
// results as the detector with the young series' trend over, including on a detector whose trend
// a version-14 snapshot kept (written by round 69's code, which started it on such a restore).
func TestOldSeriesIsNotYoungAfterRestore(t *testing.T) {
	b, err := os.ReadFile("testdata/detector-v12.msgpack")
	if err != nil {
		t.Fatal(err)
	}
	var d, want Detector
	if err := want.UnmarshalMsgpack(b); err != nil {
		t.Fatal(err)
	}
	if err := d.UnmarshalMsgpack(b); err != nil {
		t.Fatal(err)
	}
	d.young = youngTrend{level: d.fc.level} // as round 69's youngFrom left it
	want.young = youngTrend{over: true}
	lower := 0
	for i := 869; i < 869+pointsPerDay; i++ {
		at, v := t0.Add(time.Duration(i)*step), daily(i)
		if i == 900 {
			v += 8
		}
		got, w := d.Observe(at, v), want.Observe(at, v)
		if got != w {
			lower++
		}
	}
	if lower > 0 {
		t.Errorf("%d of %d points after the restore report other than main's score", lower, pointsPerDay)
	}
}

// TestSnapshotInZone: a detector reading its clock in a zone restores in that zone and
// resumes exactly, across the day the clocks change; a snapshot naming a zone the database
// does not have is refused.
func TestSnapshotInZone(t *testing.T) {
	cfg := DefaultConfig()
	cfg.TimeZone = "Europe/Berlin"
	start := time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return start.Add(time.Duration(i) * step) }
	xs := series(16*pointsPerDay, 9, daily)
	cut := 12 * pointsPerDay // Saturday 28 March; the clocks change the next night
	orig := New(cfg)
	for i := range cut {
		orig.Observe(at(i), xs[i])
	}
	restored := roundTrip(t, orig)
	if restored.p.zone != "Europe/Berlin" || restored.p.loc == nil || restored.p.loc.String() != "Europe/Berlin" {
		t.Fatalf("restored in zone %q (%v), want Europe/Berlin", restored.p.zone, restored.p.loc)
	}
	for i := cut; i < len(xs); i++ {
		if want, got := orig.Observe(at(i), xs[i]), restored.Observe(at(i), xs[i]); got != want {
			t.Fatalf("point %d after the restore: %+v, want %+v", i, got, want)
		}
	}
	orig.p.zone = "Europe/Berlinn"
	b, err := orig.MarshalMsgpack()
	if err != nil {
		t.Fatal(err)
	}
	var r Detector
	if err := r.UnmarshalMsgpack(b); err == nil || !strings.Contains(err.Error(), "time zone") {
		t.Errorf("a snapshot in zone Europe/Berlinn: %v, want refused naming the time zone", err)
	}
}

// TestSnapshotReadsVersion10: a snapshot written by the detector before the stuck-value channel
// (version 10; testdata/detector-v10.msgpack, saved by that code after 869 points of
// series(869, 7, daily) with a spike of 500 at point 700) restores with every field at the value
// the old one wrote, its stuck-value channel starting as for a new series, and resumes observing.
func TestSnapshotReadsVersion10(t *testing.T) {
	d := readOldSnapshot(t, "detector-v10.msgpack", func(d *Detector) []restored {
		return append(restoredV9AndV10(d),
			restored{"rep", d.rep, repeats{n: 869, last: 102.8645165053583, share: 0}},
			restored{"stuck", d.stuck, stuck{}})
	})
	if d.stuck.n != 288 {
		t.Errorf("the stuck-value channel observed %d points after the restore, want 288", d.stuck.n)
	}
}

// TestSnapshotReadsVersion9: a snapshot written by the detector before it kept its repeats
// (version 9; testdata/detector-v9.msgpack, saved by that code after 869 points of
// series(869, 7, daily) with a spike of 500 at point 700) restores with every field at the value
// the old one wrote, its repeats starting as for a new series, and resumes observing.
func TestSnapshotReadsVersion9(t *testing.T) {
	d := readOldSnapshot(t, "detector-v9.msgpack", func(d *Detector) []restored {
		return append(restoredV9AndV10(d), restored{"rep", d.rep, repeats{}})
	})
	if d.rep.n != 288 {
		t.Errorf("repeats observed %d points after the restore, want 288", d.rep.n)
	}
}

// TestSnapshotReadsVersion8: a snapshot written by the detector before the tail curves kept
// their tops (version 8; testdata/detector-v8.msgpack, saved by that code after 869 points of
// series(869, 7, daily) with a spike of 500 at point 700) restores with every field at the value
// the old one wrote, each curve's top taken from its levels (the residual's and the report
// curve's highest level, which the spike reached; 0 for the stops, which never ran), and resumes
// observing.
func TestSnapshotReadsVersion8(t *testing.T) {
	// As the old code printed them.
	curve := [numLevels]float64{2.016571232314465, 2.9922570319954693, 4.448299406990849, 6.360672806676503, 9.032427095367257, 9.40379370380468, 9.406661065362083, 9.406662512119416, 9.406662512135766, 9.406662512135766}
	reports := [numLevels]float64{2.0633900286313573, 3.051217176976974, 4.511401359662922, 6.563635075717283, 9.032427095367257, 9.40379370380468, 9.406661065362083, 9.406662512119416, 9.406662512135766, 9.406662512135766}
	top := curveLevels[numLevels-1]
	readOldSnapshot(t, "detector-v8.msgpack", func(d *Detector) []restored {
		return []restored{
			{"n", d.n, int64(869)},
			{"fc.level", d.fc.level, 97.9719802073806},
			{"resid.c", d.resid.c.surprise, curve},
			{"reports", d.reports.surprise, reports},
			{"pk.cur", d.pk.cur, 0.8721880432263853},
			{"rec", d.rec, records{n: 869, lo: 77.56457299287153, hi: 500, rate: 0.004602991944764101}},
			{"vt.n", d.vt.n, int64(869)},
			{"resid.c.top", d.resid.c.top, top},
			{"reports.top", d.reports.top, top},
			{"stops.c.top", d.stops.c.top, 0.0},
		}
	})
}

// TestSnapshotReadsVersion7: a snapshot written by the detector before the value tail
// (version 7; testdata/detector-v7.msgpack) restores with every field at the value the old one
// wrote, its value tail starting as for a new series, and resumes observing.
func TestSnapshotReadsVersion7(t *testing.T) {
	d := readOldSnapshot(t, "detector-v7.msgpack", func(d *Detector) []restored {
		return dailySnapshotFields(d, records{n: 869, lo: 80, hi: 500, rate: 0.003452243958573078})
	})
	if d.vt.n != 288 {
		t.Errorf("value tail observed %d points after the restore, want 288", d.vt.n)
	}
}

// TestSnapshotReadsVersion6: a snapshot written by the detector before records (version 6;
// testdata/detector-v6.msgpack) restores with every field at the value the old one wrote, its
// records starting as for a new series, and resumes observing.
func TestSnapshotReadsVersion6(t *testing.T) {
	d := readOldSnapshot(t, "detector-v6.msgpack", func(d *Detector) []restored {
		return dailySnapshotFields(d, records{})
	})
	if d.rec.n != 288 {
		t.Errorf("records observed %d points after the restore, want 288", d.rec.n)
	}
}

// TestSnapshotReadsVersion5: a snapshot written by the detector that still had the
// slow-pattern channel (version 5; testdata/detector-v5.msgpack, saved by that code after
// 869 points of a daily cycle with one extreme spike) restores, with every field the current
// detector keeps at the value the old one wrote, and resumes observing.
func TestSnapshotReadsVersion5(t *testing.T) {
	// As the old code printed them (%v prints the shortest form that reads back exactly).
	curve := [numLevels]float64{2.0113653621712544, 2.9908131363747974, 4.421475877783595, 6.5657931174374315, 9.039523333160595, 9.414097711571259, 9.416994814246689, 9.416996276031973, 9.416996276048492, 9.416996276048492}
	reports := [numLevels]float64{2.061441587872676, 3.047708727604575, 4.504446996988408, 6.684792183210895, 9.039523333160595, 9.414097711571259, 9.416994814246689, 9.416996276031973, 9.416996276048492, 9.416996276048492}
	readOldSnapshot(t, "detector-v5.msgpack", func(d *Detector) []restored {
		return []restored{
			{"n", d.n, int64(869)},
			{"fc.level", d.fc.level, 94.81131605639496},
			{"fc.dev", d.fc.dev, 0.8554549219915595},
			{"fc.base", d.fc.base, 102.80057185719333},
			{"fc.profile[0][10]", d.fc.profile[0][10], 16.38118480566035},
			{"fc.visited", d.fc.visited, [2]uint64{281474976710655, 0}},
			{"cx.center", d.cx.center, 100.05691833576792},
			{"cx.last", d.cx.last, uint64(1859271624149452776)},
			{"resid.s.n", d.resid.s.n, int64(959)},
			{"resid.s.mean", d.resid.s.mean, 1.0185523280524476},
			{"resid.s.vari", d.resid.s.vari, 2.0175711606124818},
			{"resid.c", d.resid.c.surprise, curve},
			{"novel.s.mean", d.novel.s.mean, 0.022842347525891857},
			{"novel.t.low", d.novel.t.low, 0.046622565587987566},
			{"stops.q", d.stops.q, 0.5},
			{"stops.n", d.stops.n, int64(869)},
			{"reports", d.reports.surprise, reports},
			{"pk.head", d.pk.head, 11},
			{"pk.cur", d.pk.cur, 4.7882243117861485},
			{"pk.in", d.pk.in, 4},
			{"rec", d.rec, records{}},
			{"vt", d.vt, valueTail{}},
		}
	})
}

// roundTrip returns a detector restored from d's snapshot.
func roundTrip(t *testing.T, d *Detector) *Detector {
	t.Helper()
	b, err := d.MarshalMsgpack()
	if err != nil {
		t.Fatal(err)
	}
	var restored Detector
	if err := restored.UnmarshalMsgpack(b); err != nil {
		t.Fatal(err)
	}
	return &restored
}

// TestSnapshotRejectsExtremeValues: a snapshot whose numbers are finite but beyond what a
// detector can learn (a corrupt one) is refused, as a NaN is: accepted, each of these gave a
// band of ±Inf, a NaN score, or a state whose next snapshot was refused (the series then
// dropped at the restart after).
func TestSnapshotRejectsExtremeValues(t *testing.T) {
	refusesEach(t, series(2000, 9, daily), map[string]func(*Detector){
		"deviation":              func(d *Detector) { d.fc.dev = math.MaxFloat64 }, // band ±Inf
		"residual baseline mean": func(d *Detector) { d.resid.s.mean = -1e300 },    // NaN score
		"novelty baseline short": func(d *Detector) { d.novel.s.short = 1e200 },    // state NaN
		"novelty baseline mean":  func(d *Detector) { d.novel.s.mean = 1e200 },
		"value tail trip time":   func(d *Detector) { d.vt.last[40] = -1e300 }, // gap² overflows
		"value tail gap":         func(d *Detector) { d.vt.gap[40] = 1e200 },
		"points":                 func(d *Detector) { d.n = math.MaxInt64 - 1 }, // wraps negative
		"forecaster's points":    func(d *Detector) { d.fc.n = math.MaxInt64 - 1 },
		"value tail's points":    func(d *Detector) { d.vt.n = math.MaxInt64 - 1 },
	})
}

// TestSnapshotKeepsAFarValueSeenBeforeTheBound: a detector built before maxValue learned a value
// up to math.MaxFloat64 (which some exporters write for +Inf) into its records' range and its
// previous value, and wrote it in a version-13 snapshot like today's; the rest of its state
// stayed ordinary, since the forecaster clips a warm series' spike. Those numbers are only
// compared, never added, so they are accepted at any finite size and restore exactly: refused,
// the series lost its history at the first restart after the upgrade, and the records' range,
// which never shrinks, kept nothing else from being restored.
func TestSnapshotKeepsAFarValueSeenBeforeTheBound(t *testing.T) {
	xs := series(3000, 5, daily)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * step) }
	orig := New(DefaultConfig())
	for i := 0; i < 2000; i++ {
		orig.Observe(at(i), xs[i])
	}
	// What the detector before the bound left after a value of math.MaxFloat64 at this point.
	orig.rec.hi, orig.rep.last = math.MaxFloat64, math.MaxFloat64
	restored := roundTrip(t, orig)
	for i := 2000; i < len(xs); i++ {
		want, got := orig.Observe(at(i), xs[i]), restored.Observe(at(i), xs[i])
		if got != want {
			t.Fatalf("point %d after restore: %+v, want %+v", i, got, want)
		}
	}
	// The lowest value too, and a NaN stays refused.
	orig.rec.lo = -math.MaxFloat64
	roundTrip(t, orig)
	orig.rec.lo = math.NaN()
	b, err := orig.MarshalMsgpack()
	if err != nil {
		t.Fatal(err)
	}
	if err := new(Detector).UnmarshalMsgpack(b); err == nil {
		t.Error("a NaN record accepted")
	}
}

// TestSnapshotReadsVersion13: snapshots written by the detector before the day-one trend
// (version 13; testdata/detector-v13.msgpack, saved by that code after 869 points of
// series(869, 7, daily) with 500 added at point 700, and detector-v13-young.msgpack after the
// first 100 points of the same series, at t0 + i·step) restore with the fields the old one wrote
// and, both series being in their first week (three days and eight hours old), the trend started
// from the plain level with no slope; both resume observing and save and restore again exactly.
func TestSnapshotReadsVersion13(t *testing.T) {
	d := readOldSnapshot(t, "detector-v13.msgpack", func(d *Detector) []restored {
		return []restored{
			{"fc.n", d.fc.n, int64(869)},
			{"fc.level", d.fc.level, 97.9719802073806},
			{"fc.timed", d.fc.timed, int64(869)},
			{"fc.step", d.fc.step, 300.0},
			// Three days old: young for a week (young.go), so the trend restarts at the level.
			{"young", d.young, youngTrend{level: 97.9719802073806}},
		}
	})
	if d.young.over {
		t.Errorf("after 288 more points, four days old, the trend is over: %+v", d.young)
	}
	readOldSnapshot(t, "detector-v13-young.msgpack", func(d *Detector) []restored {
		return []restored{
			{"fc.n", d.fc.n, int64(100)},
			{"fc.timed", d.fc.timed, int64(100)},
			{"young", d.young, youngTrend{level: 118.70968595026602}},
		}
	})
}

// TestSnapshotReadsVersion14: a snapshot written by the detector before the lasting change's
// excursion (version 14; testdata/detector-v14.msgpack, saved by 7bc8de1 after 869 points of
// series(869, 7, daily) with 500 added at point 700, at t0 + i·step) restores with the fields the
// old one wrote, no excursion open, the run of zeros not told and no stall's report owed; it resumes
// observing and saves and restores again exactly.
func TestSnapshotReadsVersion14(t *testing.T) {
	readOldSnapshot(t, "detector-v14.msgpack", func(d *Detector) []restored {
		return []restored{
			{"fc.n", d.fc.n, int64(869)},
			{"fc.level", d.fc.level, 97.9719802073806},
			{"resid.c.top", d.resid.c.top, 2440.989432969306},
			{"young.over", d.young.over, false},
			{"pk.head", d.pk.head, 11},
			{"pk.cur", d.pk.cur, 0.8721880432263853},
			{"pk.in", d.pk.in, 4},
			{"last", d.last, lasting{}},
			{"stops.told", d.stops.told, false},
			{"stuck.owed", d.stuck.owed, 0.0},
			{"stuck.paged", d.stuck.paged, false},
		}
	})
}

// TestSnapshotReadsVersion15: a snapshot written by the detector before it kept whether the current
// run of zeros had been reported at even odds and a stall's owed report (version 15;
// testdata/detector-v15.msgpack, saved by main's code at 33e85e4 after 869 points of series(869, 7,
// daily) with 500 added at point 700, at t0 + i·step, with a lasting change's excursion open)
// restores with the fields the old one wrote, the excursion among them, the run not told, nothing
// owed and nothing paged; it resumes observing and saves and restores again exactly.
func TestSnapshotReadsVersion15(t *testing.T) {
	readOldSnapshot(t, "detector-v15.msgpack", func(d *Detector) []restored {
		return []restored{
			{"fc.n", d.fc.n, int64(869)},
			{"fc.level", d.fc.level, 97.9719802073806},
			{"resid.c.top", d.resid.c.top, 2440.989432969306},
			{"pk.head", d.pk.head, 11},
			{"pk.cur", d.pk.cur, 0.8721880432263853},
			{"pk.in", d.pk.in, 4},
			{"last.open", d.last.open, true},
			{"last.sign", d.last.sign, int32(-1)},
			{"last.run", d.last.run, int32(5)},
			{"last.inside", d.last.inside, int32(24)},
			{"last.k", d.last.k, int64(179)},
			{"last.devRef", d.last.devRef, 0.8505825080135666},
			{"last.was.top", d.last.was.top, 8.718183394948195},
			{"stops.told", d.stops.told, false},
			{"stuck.owed", d.stuck.owed, 0.0},
			{"stuck.paged", d.stuck.paged, false},
		}
	})
}

// TestSnapshotReadsVersion16: a snapshot written by the detector before it kept a stall's owed
// report (version 16; testdata/detector-v16.msgpack, saved by main's code at 9b4d70f, round 113's
// version, after the 869 points of detector-v15.msgpack's series followed by 40 zeros: a run of
// zeros under way and told, a lasting change's excursion open) restores with the fields the old
// one wrote, the run told among them, nothing owed and nothing paged; it resumes observing and
// saves and restores again exactly.
func TestSnapshotReadsVersion16(t *testing.T) {
	readOldSnapshot(t, "detector-v16.msgpack", func(d *Detector) []restored {
		return []restored{
			{"n", d.n, int64(909)},
			{"fc.level", d.fc.level, 31.49679044278552},
			{"resid.c.top", d.resid.c.top, 2440.989432969306},
			{"last.open", d.last.open, true},
			{"stops.run", d.stops.run, int64(40)},
			{"stops.told", d.stops.told, true},
			{"stuck.owed", d.stuck.owed, 0.0},
			{"stuck.paged", d.stuck.paged, false},
		}
	})
}
