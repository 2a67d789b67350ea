package anomaly

import (
	"os"
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
	b, err := orig.MarshalMsgpack()
	if err != nil {
		t.Fatal(err)
	}
	var restored Detector
	if err := restored.UnmarshalMsgpack(b); err != nil {
		t.Fatal(err)
	}
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
	// One whose shape channel is past its probation, so that its network and vigilances
	// are in play.
	for i, x := range series(2*artProbPts, 13, daily) {
		d.Observe(t0.Add(time.Duration(500+i)*step), x)
	}
	mature, _ := d.MarshalMsgpack()
	f.Add(mature)
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
		// Whatever was accepted must be usable: no panic, a score in [0, 1]; two blocks of
		// the shape channel.
		for i := 0; i < 2*artStep; i++ {
			r := d.Observe(t0.Add(time.Duration(i)*step), float64(i))
			if !(r.Score >= 0 && r.Score <= 1) {
				t.Fatalf("restored detector scored %v", r.Score)
			}
		}
	})
}

// TestSnapshotReadsVersion5: a snapshot written by the detector that still had the
// slow-pattern channel (version 5; testdata/detector-v5.msgpack, saved by that code after
// 869 points of a daily cycle with one extreme spike) restores, with every field the current
// detector keeps at the value the old one wrote, and resumes observing.
func TestSnapshotReadsVersion5(t *testing.T) {
	d := restoreFile(t, "testdata/detector-v5.msgpack")
	// As the old code printed them (%v prints the shortest form that reads back exactly).
	curve := [numLevels]float64{2.0113653621712544, 2.9908131363747974, 4.421475877783595, 6.5657931174374315, 9.039523333160595, 9.414097711571259, 9.416994814246689, 9.416996276031973, 9.416996276048492, 9.416996276048492}
	reports := [numLevels]float64{2.061441587872676, 3.047708727604575, 4.504446996988408, 6.684792183210895, 9.039523333160595, 9.414097711571259, 9.416994814246689, 9.416996276031973, 9.416996276048492, 9.416996276048492}
	checkRestored(t, []restoredField{
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
	})
	for i := 869; i < 869+288; i++ {
		r := d.Observe(t0.Add(time.Duration(i)*step), daily(i))
		if !finite(r.Score, r.Expected, r.Lower, r.Upper) {
			t.Fatalf("point %d after the restore: %+v", i, r)
		}
	}
	// It is saved again in the current version.
	b2, err := d.MarshalMsgpack()
	if err != nil {
		t.Fatal(err)
	}
	var again Detector
	if err := again.UnmarshalMsgpack(b2); err != nil || again != d {
		t.Fatalf("the restored detector's own snapshot: %v (equal: %v)", err, again == d)
	}
}

// TestSnapshotReadsVersion6: a snapshot written before the shape channel (version 6;
// testdata/detector-v6.msgpack, saved by the code before the shape channel after 869
// points of a daily cycle with a spike of 200 at point 700) restores with the other channels as saved and the
// shape channel fresh, which starts its probation on the next point.
func TestSnapshotReadsVersion6(t *testing.T) {
	d := restoreFile(t, "testdata/detector-v6.msgpack")
	checkRestored(t, []restoredField{
		{"n", d.n, int64(869)},
		{"fc.level", d.fc.level, 93.05437925704356},
		{"fc.dev", d.fc.dev, 0.5213586018551726},
		{"reports[4]", d.reports.surprise[4], 8.51319063170644},
		{"pk.head", d.pk.head, 11},
		{"shape", d.shape, artChannel{}},
	})
	for i := 869; i < 869+2*artProbPts; i++ {
		r := d.Observe(t0.Add(time.Duration(i)*step), daily(i))
		if !finite(r.Score, r.Expected, r.Lower, r.Upper) {
			t.Fatalf("point %d after the restore: %+v", i, r)
		}
	}
	if d.shape.points != 2*artProbPts || d.shape.net.n == 0 {
		t.Errorf("shape channel after %d points: %d points, %d categories", 2*artProbPts, d.shape.points, d.shape.net.n)
	}
}

// TestSnapshotRejectsBadShapeState: a shape channel the detector could not run on (a category
// count beyond the network, a report rate whose −ln is infinite, a ring position out of range)
// is refused, not restored.
func TestSnapshotRejectsBadShapeState(t *testing.T) {
	for name, spoil := range map[string]func(c *artChannel){
		"categories": func(c *artChannel) { c.net.n = artCategories + 1 },
		"rate":       func(c *artChannel) { c.rate = 0 },
		"ring":       func(c *artChannel) { c.head = artWindow },
		"block":      func(c *artChannel) { c.bn = artStep },
	} {
		d := New(DefaultConfig())
		for i := range 2 * artProbPts {
			d.Observe(t0.Add(time.Duration(i)*step), daily(i))
		}
		spoil(&d.shape)
		b, err := d.MarshalMsgpack()
		if err != nil {
			t.Fatal(err)
		}
		var r Detector
		if err := r.UnmarshalMsgpack(b); err == nil {
			t.Errorf("%s: a spoilt shape channel was restored", name)
		}
	}
}

// restoreFile restores the snapshot in path.
func restoreFile(t *testing.T, path string) Detector {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d Detector
	if err := d.UnmarshalMsgpack(b); err != nil {
		t.Fatalf("%s refused: %v", path, err)
	}
	return d
}

// restoredField is a field of a restored detector and the value its snapshot holds.
type restoredField struct {
	name      string
	got, want any
}

func checkRestored(t *testing.T, fs []restoredField) {
	t.Helper()
	for _, c := range fs {
		if c.got != c.want {
			t.Errorf("%s restored as %v, want %v", c.name, c.got, c.want)
		}
	}
}
