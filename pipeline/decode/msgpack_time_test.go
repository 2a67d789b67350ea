package decode

import (
	"testing"
	"time"
)

// msgpack timestamps, as vmihailenco/msgpack writes every time.Time (all three widths of the
// extension), decode to Numbers of epoch seconds that read back as the same instant, to the
// nanosecond.
func TestDecodeMsgpackTimestamp(t *testing.T) {
	_, d, out := plan(t, Msgpack, "$.ts")
	for _, c := range []struct {
		at   time.Time
		text string
	}{
		{time.Unix(1795271574, 0), "1795271574"},                       // 32-bit: seconds only
		{time.Unix(1795271574, 123_000_000), "1795271574.123"},         // 64-bit
		{time.Unix(1795271574, 1), "1795271574.000000001"},             // 64-bit
		{time.Unix(1<<34+5, 7), "17179869189.000000007"},               // 96-bit: seconds past 34 bits
		{time.Unix(-5, 1), "-4.999999999"},                             // 96-bit: before 1970
		{time.Unix(-1, 500_000_000), "-0.5"},                           // 96-bit
		{time.Date(2026, 11, 21, 15, 4, 5, 0, time.UTC), "1795273445"}, // a UTC time.Time
	} {
		if err := d.Decode(mp(t, map[string]any{"ts": c.at, "x": 1}), out); err != nil {
			t.Fatalf("%v: %v", c.at, err)
		}
		v := out[0]
		if v.Kind != Number || string(v.Bytes) != c.text {
			t.Errorf("%v: %v %q, want number %q", c.at, v.Kind, v.Bytes, c.text)
		}
		got, err := v.Time()
		if err != nil || !got.Equal(c.at) {
			t.Errorf("%v: Time() = %v, %v", c.at, got, err)
		}
		if d := v.Num - (float64(c.at.Unix()) + float64(c.at.Nanosecond())/1e9); d > 1e-6 || d < -1e-6 {
			t.Errorf("%v: Num %v", c.at, v.Num)
		}
	}
}

// Other ext types, and timestamp extensions that are not timestamps (a length the format does
// not have, nanoseconds past a second), stay Strings of the ext's data.
func TestDecodeMsgpackOtherExt(t *testing.T) {
	_, d, out := plan(t, Msgpack, "$.a")
	for _, doc := range [][]byte{
		{0x81, 0xa1, 'a', 0xd6, 0x05, 0, 0, 0, 1},                                         // fixext4 of type 5
		{0x81, 0xa1, 'a', 0xd5, 0xff, 0, 1},                                               // type −1, 2 bytes
		{0x81, 0xa1, 'a', 0xc7, 12, 0xff, 0x3b, 0x9a, 0xca, 0x00, 0, 0, 0, 0, 0, 0, 0, 1}, // 1e9 ns
	} {
		if err := d.Decode(doc, out); err != nil {
			t.Fatalf("% x: %v", doc, err)
		}
		if out[0].Kind != String {
			t.Errorf("% x: %v %q, want the ext's data as a string", doc, out[0].Kind, out[0].Bytes)
		}
		if _, err := out[0].Time(); err == nil {
			t.Errorf("% x: read as a time", doc)
		}
	}
}

// A plain decimal epoch is read exactly: its text, not the float64 nearest it.
func TestValueTimeExactEpoch(t *testing.T) {
	for _, c := range []struct {
		v    Value
		want time.Time
	}{
		{Value{Kind: Number, Bytes: []byte("1795271574.123"), Num: 1795271574.123}, time.Unix(1795271574, 123_000_000)},
		{Value{Kind: Number, Bytes: []byte("1795271574123.5"), Num: 1795271574123.5}, time.Unix(1795271574, 123_500_000)},
		{Value{Kind: Number, Bytes: []byte("1795271574.1234567891"), Num: 1795271574.1234567891}, time.Unix(1795271574, 123_456_789)},
		{Value{Kind: Number, Bytes: []byte("-1.5"), Num: -1.5}, time.Unix(-2, 500_000_000)},
		{Value{Kind: String, Bytes: []byte("1795271574.000000001")}, time.Unix(1795271574, 1)},
		{Value{Kind: Number, Bytes: []byte("1.795271574e9"), Num: 1.795271574e9}, time.Unix(1795271574, 0)}, // through the float
	} {
		got, err := c.v.Time()
		if err != nil || !got.Equal(c.want) {
			t.Errorf("%v %q: Time() = %v, %v; want %v", c.v.Kind, c.v.Bytes, got, err, c.want)
		}
	}
	if _, err := (Value{Kind: Number, Bytes: []byte("99999999999999999"), Num: 99999999999999999}).Time(); err == nil {
		t.Error("an epoch beyond year 300000 was read as a time")
	}
}
