package decode

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// checkNumber decodes s with jnumber and compares it with the grammar (encoding/json) and with
// strconv.ParseFloat, bit for bit, whichever path jnumber took.
func checkNumber(t *testing.T, d *Decoder, s string) (exact bool) {
	t.Helper()
	end, f, exact, err := d.jnumber([]byte(s), 0)
	valid := json.Valid([]byte(s))
	if valid != (err == nil && end == len(s)) {
		t.Fatalf("%q: end %d, err %v; json.Valid says %v", s, end, err, valid)
	}
	if err != nil || !exact {
		return exact
	}
	want, perr := strconv.ParseFloat(s[:end], 64)
	if perr != nil {
		t.Fatalf("%q: fast path took a number ParseFloat rejects: %v", s, perr)
	}
	if math.Float64bits(f) != math.Float64bits(want) {
		t.Fatalf("%q: fast path %v (%#x), ParseFloat %v (%#x)", s, f, math.Float64bits(f), want, math.Float64bits(want))
	}
	return true
}

func TestJNumberFastPath(t *testing.T) {
	d := &Decoder{}
	cases := []struct {
		s     string
		exact bool
	}{
		{"0", true}, {"-0", true}, {"-0.0", true}, {"0.0", true}, {"-0e5", true},
		{"200", true}, {"1234", true}, {"12.3", true}, {"-12.3", true}, {"0.1", true},
		{"123456789012345", true},     // 15 digits
		{"1234567890123456", false},   // 16
		{"12345678901234567", false},  // 17
		{"99999999999999.9", true},    // 15 digits with a fraction
		{"9007199254740993", false},   // 2^53+1: 16 digits, ParseFloat rounds it
		{"0.000000000000001", true},   // 15 fraction digits: 1/10^15
		{"0.0000000000000001", false}, // 16 fraction digits
		{"1e22", true}, {"1e23", false}, {"1e-22", true}, {"1e-23", false},
		{"1.5E+3", true}, {"1.5e-3", true}, {"-2.5e0", true}, {"1e0000000000000000000001", true},
		{"1e99999999999999999999", false}, {"1e-99999999999999999999", false}, {"1e400", false},
		{"123456789012345e7", true}, {"0.5e-21", true}, {"0.5e-22", false},
	}
	for _, tc := range cases {
		if got := checkNumber(t, d, tc.s); got != tc.exact {
			t.Errorf("%q: exact = %v, want %v", tc.s, got, tc.exact)
		}
	}
	// Malformed numbers (and numbers followed by other bytes, which the caller then rejects).
	for _, s := range []string{
		"-", "01", "-01", "00", "1.", "1.e5", ".5", "+1", "1e", "1e+", "1E-", "-.5", "--1",
		"1.5x", "12,", "0x10", "1e5.5", "Infinity", "-a", "1.2.3",
	} {
		checkNumber(t, d, s)
	}
}

func TestJNumberRandom(t *testing.T) {
	d := &Decoder{}
	r := rand.New(rand.NewPCG(1, 2))
	digits := func(n int, first bool) string {
		var sb strings.Builder
		for k := range n {
			c := byte('0' + r.IntN(10))
			if k == 0 && first && n > 1 {
				c = byte('1' + r.IntN(9))
			}
			sb.WriteByte(c)
		}
		return sb.String()
	}
	for range 200000 {
		var s string
		if r.IntN(2) == 0 {
			s = "-"
		}
		s += digits(1+r.IntN(19), true)
		if r.IntN(2) == 0 {
			s += "." + digits(1+r.IntN(19), false)
		}
		if r.IntN(3) == 0 {
			s += []string{"e", "E", "e+", "e-", "E-"}[r.IntN(5)] + strconv.Itoa(r.IntN(30))
		}
		checkNumber(t, d, s)
	}
}

// TestDecodeNumberValue checks the fast path through Decode: Num and Bytes of planned numbers.
func TestDecodeNumberValue(t *testing.T) {
	_, d, out := plan(t, JSON, "$.a")
	for _, s := range []string{"200", "-0", "12.3", "1234567890123456789", "1e400", "-1e400", "5e-324"} {
		if err := d.Decode([]byte(`{"a":`+s+`}`), out); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		want, _ := strconv.ParseFloat(s, 64)
		if out[0].Kind != Number || string(out[0].Bytes) != s || math.Float64bits(out[0].Num) != math.Float64bits(want) {
			t.Errorf("%s: got %v %q %v, want %v", s, out[0].Kind, out[0].Bytes, out[0].Num, want)
		}
	}
}
