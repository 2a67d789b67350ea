package decode

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// mpNumber encodes x with the msgpack type byte c and a big-endian payload of w bytes.
func mpNumber(c byte, w int, x uint64) []byte {
	doc := []byte{0x81, 0xa1, 'a', c}
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], x)
	return append(doc, buf[8-w:]...)
}

// TestDecodeMsgpackIntWidths decodes the boundary values of every msgpack integer width and
// checks the text against strconv, which is what mnumber used before it wrote digits itself.
func TestDecodeMsgpackIntWidths(t *testing.T) {
	_, d, out := plan(t, Msgpack, "$.a")
	type tc struct {
		c    byte
		w    int
		x    uint64 // payload
		text string
		num  float64
	}
	var cases []tc
	signed := func(c byte, w int, v int64) {
		// mpNumber keeps the low w bytes: the two's complement of v in w bytes.
		cases = append(cases, tc{c, w, uint64(v), strconv.FormatInt(v, 10), float64(v)})
	}
	unsigned := func(c byte, w int, v uint64) {
		cases = append(cases, tc{c, w, v, strconv.FormatUint(v, 10), float64(v)})
	}
	for _, v := range []int64{0, 1, 9, 10, 99, 100, 127} {
		cases = append(cases, tc{byte(v), 0, 0, strconv.FormatInt(v, 10), float64(v)}) // positive fixint
	}
	for _, v := range []int64{-1, -9, -10, -32} {
		cases = append(cases, tc{byte(v), 0, 0, strconv.FormatInt(v, 10), float64(v)}) // negative fixint
	}
	for _, v := range []uint64{0, 9, 10, 99, 100, 255} {
		unsigned(0xcc, 1, v)
	}
	for _, v := range []uint64{0, 256, 999, 1000, 9999, 10000, 65535} {
		unsigned(0xcd, 2, v)
	}
	for _, v := range []uint64{0, 65536, 99999999, 100000000, math.MaxUint32} {
		unsigned(0xce, 4, v)
	}
	for _, v := range []uint64{0, 1 << 32, 1e19 - 1, 1e19, math.MaxUint64} {
		unsigned(0xcf, 8, v)
	}
	for _, v := range []int64{0, 1, -1, -33, -99, -100, math.MinInt8, math.MaxInt8} {
		signed(0xd0, 1, v)
	}
	for _, v := range []int64{-129, -999, -1000, math.MinInt16, math.MaxInt16} {
		signed(0xd1, 2, v)
	}
	for _, v := range []int64{-32769, math.MinInt32, math.MaxInt32} {
		signed(0xd2, 4, v)
	}
	for _, v := range []int64{math.MinInt32 - 1, -1e18, math.MinInt64, math.MaxInt64, 0} {
		signed(0xd3, 8, v)
	}
	for _, c := range cases {
		doc := mpNumber(c.c, c.w, c.x)
		if err := d.Decode(doc, out); err != nil {
			t.Fatalf("% x: %v", doc, err)
		}
		if out[0].Kind != Number || string(out[0].Bytes) != c.text || out[0].Num != c.num {
			t.Errorf("% x: %v %q %v, want %s", doc, out[0].Kind, out[0].Bytes, out[0].Num, c.text)
		}
		if len(out[0].Bytes) != cap(out[0].Bytes) {
			t.Errorf("% x: text has spare capacity %d", doc, cap(out[0].Bytes)-len(out[0].Bytes))
		}
	}
}

// refFloat is the float formatting contract: strconv's shortest form, plain decimal for
// magnitudes in [1e-6, 1e21).
func refFloat(f float64, bits int) string {
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		return strconv.FormatFloat(f, 'e', -1, bits)
	}
	return strconv.FormatFloat(f, 'f', -1, bits)
}

func TestDecodeMsgpackFloatWidths(t *testing.T) {
	_, d, out := plan(t, Msgpack, "$.a")
	f64 := []float64{0, math.Copysign(0, -1), 1, -1, 12.5, 12.3, -0.001, 1e-6, 9.999999e-7, 1e-7,
		0.1 + 0.2, 1.0 / 3, 123456.789, 4503599627370495.5, 9007199254740991, 9007199254740992,
		9007199254740993, 1e20, 1e21, math.MaxFloat64, math.SmallestNonzeroFloat64, -math.MaxFloat64,
		math.Inf(1), math.Inf(-1), 999999.999999, -999999.999999, 0.000001, 12345678901.123456}
	for _, f := range f64 {
		doc := mpNumber(0xcb, 8, math.Float64bits(f))
		if err := d.Decode(doc, out); err != nil {
			t.Fatal(err)
		}
		if want := refFloat(f, 64); string(out[0].Bytes) != want || math.Float64bits(out[0].Num) != math.Float64bits(f) {
			t.Errorf("float64 %v: %q %v, want %s", f, out[0].Bytes, out[0].Num, want)
		}
	}
	for _, f := range []float32{0, 1, -1, 0.25, 0.1, 12.3, 1e-7, 3e38, math.MaxFloat32, math.SmallestNonzeroFloat32} {
		doc := mpNumber(0xca, 4, uint64(math.Float32bits(f)))
		if err := d.Decode(doc, out); err != nil {
			t.Fatal(err)
		}
		if want := refFloat(float64(f), 32); string(out[0].Bytes) != want || out[0].Num != float64(f) {
			t.Errorf("float32 %v: %q %v, want %s", f, out[0].Bytes, out[0].Num, want)
		}
	}
	// NaN: the text as before, and Num a NaN.
	doc := mpNumber(0xcb, 8, math.Float64bits(math.NaN()))
	if err := d.Decode(doc, out); err != nil || string(out[0].Bytes) != "NaN" || !math.IsNaN(out[0].Num) {
		t.Errorf("NaN: %q %v %v", out[0].Bytes, out[0].Num, err)
	}
}

// refShortDecimal is shortDecimal as it was written first, with math.Round.
func refShortDecimal(f float64) (int64, int, bool) {
	abs := math.Abs(f)
	if !(abs >= 1e-6 && abs < 1<<53) {
		return 0, 0, false
	}
	for k, p := range pow10 {
		scaled := f * p
		if math.Abs(scaled) >= 1<<53 {
			break
		}
		if n := math.Round(scaled); n/p == f {
			return int64(n), k, true
		}
	}
	return 0, 0, false
}

// TestShortDecimal checks the inlined rounding against math.Round, and the text against
// strconv, on values with few decimals (the fast path's domain), values at .5 after scaling,
// values near 2^53 and random bit patterns.
func TestShortDecimal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var vals []float64
	for range 200000 {
		k := r.IntN(8)
		n := r.Int64N(1 << uint(1+r.IntN(54)))
		if r.IntN(2) == 0 {
			n = -n
		}
		vals = append(vals, float64(n)/math.Pow10(k), float64(n)/math.Pow10(k)+0.5/math.Pow10(k),
			math.Float64frombits(r.Uint64()), math.Nextafter(float64(n)/math.Pow10(k), math.Inf(1)))
	}
	// Around the one-test bound, |f*10^6| = 2^50, and the loop's, 2^53.
	for _, edge := range []int64{1 << 50, 1 << 53} {
		for d := int64(-3000); d <= 3000; d++ {
			for _, p := range pow10 {
				f := float64(edge+d) / p
				vals = append(vals, f, -f, math.Nextafter(f, 0), math.Nextafter(f, math.Inf(1)))
			}
		}
	}
	for _, f := range vals {
		n, k, ok := shortDecimal(f)
		rn, rk, rok := refShortDecimal(f)
		if n != rn || k != rk || ok != rok {
			t.Fatalf("shortDecimal(%v) = %d, %d, %v; math.Round gives %d, %d, %v", f, n, k, ok, rn, rk, rok)
		}
		if got, want := string(appendFloat(nil, f, 64)), refFloat(f, 64); got != want {
			t.Fatalf("appendFloat(%v) = %s, want %s", f, got, want)
		}
	}
}

func TestPutDecimal(t *testing.T) {
	for _, c := range []struct {
		n    int64
		k    int
		want string
	}{
		{0, 0, "0"}, {5, 0, "5"}, {-5, 0, "-5"}, {125, 1, "12.5"}, {-125, 1, "-12.5"}, {1, 6, "0.000001"},
		{-1, 6, "-0.000001"}, {123456, 6, "0.123456"}, {1234567, 6, "1.234567"}, {10, 1, "1.0"},
		{1<<53 - 1, 0, "9007199254740991"}, {-(1<<53 - 1), 6, "-9007199254.740991"},
	} {
		var slot [numSlot]byte
		if got := string(slot[putDecimal(&slot, c.n, c.k):]); got != c.want {
			t.Errorf("putDecimal(%d, %d) = %s, want %s", c.n, c.k, got, c.want)
		}
	}
}

// BenchmarkAppendFloat formats floats as msgpack records carry them: few decimals (what the
// fast path is for) and full precision (computed latencies, as the demo source's msgpack
// events have), which takes strconv.
func BenchmarkAppendFloat(b *testing.B) {
	buf := make([]byte, 0, maxNumberText)
	for _, f := range []float64{12.5, 27.183, 14.345678901234567} {
		b.Run(strconv.FormatFloat(f, 'g', -1, 64), func(b *testing.B) {
			for b.Loop() {
				buf = appendFloat(buf[:0], f, 64)
			}
		})
	}
}
