package anomaly

import (
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
		// Whatever was accepted must be usable: no panic, a score in [0, 1].
		for i := 0; i < 3; i++ {
			r := d.Observe(t0.Add(time.Duration(i)*step), float64(i))
			if !(r.Score >= 0 && r.Score <= 1) {
				t.Fatalf("restored detector scored %v", r.Score)
			}
		}
	})
}
