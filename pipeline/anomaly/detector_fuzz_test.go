package anomaly

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"testing"
	"time"
)

// FuzzDetector drives a Detector with a sequence of points decoded from the fuzz input (decodeHostile:
// timestamps that repeat, go backwards, jump by years or sit at the limits of
// int64; values that are NaN, infinite, huge, subnormal, negative or stuck; Observe and
// ObserveCount mixed; a zone from the allowed set) and checks the contract doc.go states under
// "What always holds":
//
//   - no panic;
//   - Score is finite and in [0, 1]; 0, with no report, while the detector is not warm; an
//     alarm is a peak at or above AlarmScore, and every such peak is an alarm;
//   - a value that is NaN, infinite or beyond ±maxValue is no report and leaves the state (its
//     snapshot) as it was;
//   - Expected, Lower and Upper are finite and ordered, whatever the input (a value beyond
//     ±maxValue is not learned);
//   - a snapshot restored in the middle of the sequence gives the same next results, bit for
//     bit, as the detector that was not snapshotted, and every snapshot a detector writes is
//     one it reads back;
//   - no point allocates (a replay of the whole sequence, an allocation confirmed over
//     replayOver replays).
func FuzzDetector(f *testing.F) {
	for _, seed := range hostileSeeds() {
		f.Add(seed)
	}
	// Snapshots of every older version (testdata), which a detector may start from: what an
	// upgraded worker restores; and version 13's of a series in its first day, whose day-one
	// trend the restore starts (youngFrom).
	var olds [][]byte
	for _, file := range oldSnapshots() {
		b, err := os.ReadFile("testdata/" + file)
		if err != nil {
			f.Fatal(err)
		}
		olds = append(olds, b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h := decodeHostile(b)
		cfg := DefaultConfig()
		cfg.TimeZone, cfg.WarmUp, cfg.Memory, cfg.Quiet = h.zone, h.warmUp, h.memory, h.quiet
		d := New(cfg)
		if h.from > 0 {
			// Restored under the input's settings and zone, as the analyzer adopts the
			// configured ones.
			p := d.p
			if err := d.UnmarshalMsgpack(olds[(h.from-1)%len(olds)]); err != nil {
				t.Fatal(err)
			}
			d.adopt(p)
		}
		twin, fresh := new(Detector), *d
		*twin = *d
		for i, op := range h.ops {
			if op.snapshot {
				restoreTwin(t, twin)
			}
			var before []byte
			if !learnable(op.v) {
				before = snapshotOf(t, d)
			}
			r, rt := op.observe(d), op.observe(twin)
			if !sameResult(r, rt) {
				t.Fatalf("point %d (%v, %v): restored detector gave %+v, the other %+v", i, op.t, op.v, rt, r)
			}
			checkResult(t, i, op, r, d.p.alarm)
			if before != nil {
				// A value the detector does not learn leaves its state as it was and is no
				// report (doc.go).
				if r.Score != 0 || r.Peak || r.Alarm || r.Reason != ReasonNone {
					t.Fatalf("point %d (%v, %v): a value not learned, but %+v", i, op.t, op.v, r)
				}
				if !bytes.Equal(snapshotOf(t, d), before) {
					t.Fatalf("point %d (%v, %v): a value not learned changed the state", i, op.t, op.v)
				}
			}
		}
		restoreTwin(t, twin) // the final state must be readable as well
		if len(h.ops) > 0 {
			// The whole sequence again on a fresh detector: not one allocation.
			replay := func() {
				*d = fresh
				for _, op := range h.ops {
					op.observe(d)
				}
			}
			// AllocsPerRun counts the whole process's allocations (runtime.ReadMemStats), not the
			// replay's: any other goroutine's allocation while it runs counts, and with one run a
			// single one would fail the input. A replay is deterministic (Observe from the same
			// state, the warm-up run having done any one-time work), so an allocation of Observe's
			// recurs on every replay, and another goroutine's does not: a count is confirmed over
			// replayOver replays, whose average, rounded down, is at least 1 when each replay
			// allocates and 0 when fewer than replayOver stray allocations fall in the whole
			// measurement.
			allocs := testing.AllocsPerRun(1, replay)
			if allocs != 0 {
				allocs = testing.AllocsPerRun(replayOver, replay)
			}
			if allocs != 0 {
				t.Fatalf("%v allocations a replay of %d points (over %d replays), want 0", allocs, len(h.ops), replayOver)
			}
		}
	})
}

// replayOver is how many replays confirm an allocation FuzzDetector counted in one.
const replayOver = 20

// checkResult fails t when r breaks the detector's contract (doc.go).
func checkResult(t *testing.T, i int, op hostileOp, r Result, alarm float64) {
	t.Helper()
	if !(r.Score >= 0 && r.Score <= 1) {
		t.Fatalf("point %d (%v, %v): score %v", i, op.t, op.v, r.Score)
	}
	if !r.Warm && (r.Score != 0 || r.Peak || r.Alarm || r.Reason != ReasonNone) {
		t.Fatalf("point %d (%v, %v): not warm, but %+v", i, op.t, op.v, r)
	}
	if r.Alarm != (r.Peak && r.Score >= alarm) {
		t.Fatalf("point %d (%v, %v): an alarm is a peak at or above %v, and every such peak an alarm: %+v", i, op.t, op.v, alarm, r)
	}
	if !(finite(r.Expected, r.Lower, r.Upper) && r.Lower <= r.Expected && r.Expected <= r.Upper) {
		t.Fatalf("point %d (%v, %v): band %v ≤ %v ≤ %v", i, op.t, op.v, r.Lower, r.Expected, r.Upper)
	}
}

// snapshotOf returns d's snapshot, which must be written.
func snapshotOf(t *testing.T, d *Detector) []byte {
	t.Helper()
	b, err := d.MarshalMsgpack()
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	return b
}

// restoreTwin replaces *d by the restore of its snapshot, which must succeed.
func restoreTwin(t *testing.T, d *Detector) {
	t.Helper()
	b, err := d.MarshalMsgpack()
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	var r Detector
	if err := r.UnmarshalMsgpack(b); err != nil {
		t.Fatalf("a detector's own snapshot refused: %v", err)
	}
	// The restored detector keeps its snapshot's settings until the owner adopts the configured
	// ones (state.go): here they are the same.
	r.adopt(d.p)
	*d = r
}

// sameResult compares two results bit for bit (a NaN equals the same NaN).
func sameResult(a, b Result) bool {
	bits := math.Float64bits
	return bits(a.Expected) == bits(b.Expected) && bits(a.Lower) == bits(b.Lower) &&
		bits(a.Upper) == bits(b.Upper) && bits(a.Score) == bits(b.Score) &&
		a.Peak == b.Peak && a.Alarm == b.Alarm && a.Warm == b.Warm && a.Reason == b.Reason
}

// hostile is a fuzz input decoded: the detector's settings, the snapshot it starts from, and the
// points.
type hostile struct {
	from                  int // 0: a new detector; k: restored from oldSnapshots()[k-1]
	zone                  string
	warmUp, memory, quiet int
	ops                   []hostileOp
}

type hostileOp struct {
	t        time.Time
	v        float64
	count    bool // ObserveCount rather than Observe
	snapshot bool // snapshot and restore the twin before this point
}

func (op hostileOp) observe(d *Detector) Result {
	if op.count {
		return d.ObserveCount(op.t, op.v)
	}
	return d.Observe(op.t, op.v)
}

// hostileZones are zones of the allowed set (any IANA name but "Local") with the offsets that
// make a wall clock hard: half and three-quarter hours, a 30-minute daylight-saving change, the
// day Samoa skipped, +14 hours.
var hostileZones = []string{defaultZone, "Europe/Berlin", "America/New_York", "Asia/Kolkata",
	"Australia/Lord_Howe", "Pacific/Chatham", "Pacific/Kiritimati", "Pacific/Apia", "America/St_Johns"}

// hostileValues are the values the decoder picks by index.
var hostileValues = []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64,
	math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, 0, -1, 1, 1 << 53, 1<<53 + 2, 1 << 63,
	1e300, -1e300, maxValue, -maxValue, math.Nextafter(maxValue, math.Inf(1)), 0.5, 1e-300,
	math.Copysign(0, -1)}

// decodeHostile reads a fuzz input: three bytes of settings (the first also picks an older
// version's snapshot to start from when at least 128), then points of one opcode byte and the
// payload the opcode calls for. Bits 0–2 of the opcode say how time moves, bits 3–5 what the
// value is, bit 6 Observe or ObserveCount, bit 7 a snapshot before the point.
func decodeHostile(b []byte) hostile {
	byteAt := func() byte {
		if len(b) == 0 {
			return 0
		}
		c := b[0]
		b = b[1:]
		return c
	}
	word := func() uint64 {
		var w [8]byte
		n := copy(w[:], b)
		b = b[n:]
		return binary.LittleEndian.Uint64(w[:])
	}
	z := byteAt()
	h := hostile{zone: hostileZones[int(z)%len(hostileZones)]}
	if z >= 128 {
		h.from = 1 + int(z-128)
	}
	s := byteAt()
	h.warmUp = 1 + int(s&15)        // 1 to 16
	h.memory = 10 << (s >> 4 & 7)   // 10 to 1280
	h.quiet = 1 + int(byteAt())%100 // 1 to 100
	now := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC).Unix()
	v := 100.0
	for len(b) > 0 && len(h.ops) < 4000 {
		c := byteAt()
		switch c & 7 {
		case 0:
			now += 300
		case 1: // the same second
		case 2:
			now -= int64(byteAt()) * 60 // back by up to 4 hours
		case 3:
			now += int64(byteAt()) * 365 * 86400 // ahead by up to 255 years
		case 4:
			now = int64(word()) // anywhere, the limits of int64 included
		case 5:
			now += int64(byteAt()) // a few seconds
		case 6:
			now += 1
		case 7:
			now += 3600
		}
		switch c >> 3 & 7 {
		case 0: // the value before: long runs
		case 1:
			v = math.Float64frombits(word()) // any float64
		case 2:
			v = float64(byteAt()) // a small count
		case 3:
			v = hostileValues[int(byteAt())%len(hostileValues)]
		case 4:
			v = 100 + float64(int8(byteAt()))/16 // ordinary noise
		case 5:
			v = 100 + float64(int8(byteAt()))*10 // a spike or a drop
		case 6:
			v = -float64(byteAt()) // a negative count
		case 7:
			v = float64(word() >> 8) // a huge count
		}
		h.ops = append(h.ops, hostileOp{t: time.Unix(now, 0), v: v, count: c&64 != 0, snapshot: c&128 != 0})
	}
	return h
}

// hostileSeeds are the corpus's seeds: an ordinary series, and one of each kind of hostility.
func hostileSeeds() [][]byte {
	ordinary := []byte{0, 0x21, 74}
	for i := 0; i < 600; i++ {
		op := byte(0 | 4<<3) // 5 minutes on, ordinary noise
		if i%97 == 50 {
			op |= 128 // a snapshot now and then
		}
		ordinary = append(ordinary, op, byte(i*37))
	}
	repeat := func(settings []byte, n int, point ...byte) []byte {
		s := append([]byte{}, settings...)
		for i := 0; i < n; i++ {
			s = append(s, point...)
		}
		return s
	}
	seeds := [][]byte{ordinary}
	// 8 Hz in whole seconds: mostly the same second, a tick now and then.
	fast := []byte{1, 0x30, 10}
	for i := 0; i < 800; i++ {
		op := byte(1 | 4<<3)
		if i%8 == 0 {
			op = 6 | 4<<3
		}
		fast = append(fast, op, byte(i))
	}
	seeds = append(seeds, fast)
	// Late points, an hour back, among on-time ones, as counts.
	late := []byte{2, 0x22, 20}
	for i := 0; i < 400; i++ {
		if i%50 == 25 {
			late = append(late, 2|2<<3|64, 60, 3)
		} else {
			late = append(late, 0|2<<3|64, byte(i%7))
		}
	}
	seeds = append(seeds, late)
	// Every special value, in every zone, with jumps by years and to the limits of time.
	for z := range hostileZones {
		s := []byte{byte(z), 0x11, 5}
		s = append(s, repeat(nil, 40, 0|4<<3, 3)...)
		for i := range hostileValues {
			s = append(s, 0|3<<3|byte(i%2)<<6, byte(i))
		}
		s = append(s, 3|4<<3, 200, 0x80|4<<3, 9)
		s = append(s, 4|4<<3)
		s = binary.LittleEndian.AppendUint64(s, math.MaxInt64-10)
		s = append(s, 2, 1)
		s = append(s, 6, 0x80|6, 0|4<<3, 3)
		s = append(s, 4|4<<3)
		s = binary.LittleEndian.AppendUint64(s, 1<<63) // math.MinInt64
		s = append(s, 0|4<<3, 3, 0x80|5<<3, 100)
		seeds = append(seeds, s)
	}
	// Long runs of one value, then a change; negative and huge counts.
	seeds = append(seeds, repeat([]byte{3, 0x05, 30}, 300, 0|64))
	seeds = append(seeds, repeat([]byte{4, 0x03, 1}, 100, 0|6<<3|64, 5, 0|7<<3|64, 1, 2, 3, 4, 5, 6, 7, 8))
	// Restored from each older snapshot, then special values and times.
	for k := range oldSnapshots() {
		s := []byte{byte(128 + k), 0x21, 75}
		s = append(s, repeat(nil, 20, 0|4<<3, 5)...)
		for i := range hostileValues {
			s = append(s, byte(i%8)|3<<3|0x80, byte(i))
		}
		seeds = append(seeds, s)
	}
	// Any float64, at any time.
	seeds = append(seeds, repeat([]byte{5, 0x0f, 99}, 60, 4|1<<3|0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4, 5, 6, 7, 8))
	return seeds
}

// oldSnapshots are the testdata snapshots FuzzDetector may start from: one of each older version,
// then version 13's of a series in its first day (appended last, so that an input whose first
// byte is below 128+9 picks the file it picked before).
func oldSnapshots() []string {
	var files []string
	for v := 5; v < snapshotVersion; v++ {
		files = append(files, fmt.Sprintf("detector-v%d.msgpack", v))
	}
	return append(files, "detector-v13-young.msgpack")
}
