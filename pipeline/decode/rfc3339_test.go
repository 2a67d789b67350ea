package decode

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// checkRFC3339 compares the fast path with the general parser (and, where it accepts the
// string, with time.Parse) and reports whether the fast path took s.
func checkRFC3339(t *testing.T, s string) bool {
	t.Helper()
	b := []byte(s)
	fast, ok := parseRFC3339Fast(b)
	general, err := parseRFC3339General(b)
	if ok {
		if err != nil {
			t.Fatalf("%q: fast path gives %v, general parser rejects it: %v", s, fast, err)
		}
		if fast != general { // same instant and same representation (UTC, no monotonic reading)
			t.Fatalf("%q: fast path %v, general parser %v", s, fast, general)
		}
	}
	got, terr := (Value{Kind: String, Bytes: b}).Time()
	if (terr == nil) != (err == nil) || terr == nil && got != general {
		t.Fatalf("%q: Time() = %v, %v; general parser %v, %v", s, got, terr, general, err)
	}
	if ref, perr := time.Parse(time.RFC3339Nano, s); perr == nil && err == nil && !ref.Equal(general) {
		t.Fatalf("%q: general parser %v, time.Parse %v", s, general, ref)
	}
	return ok
}

func TestRFC3339FastEdges(t *testing.T) {
	fast := []string{
		"2026-11-21T08:00:00.123Z", "2026-11-21T13:00:00Z", "1970-01-01T00:00:00Z",
		"1969-12-31T23:59:59.999999999Z", "0000-01-01T00:00:00Z", "0000-02-29T12:00:00Z",
		"0000-01-01T00:00:00+01:00", "0000-03-01T00:00:00-23:59", "9999-12-31T23:59:59.999999999-23:59",
		"9999-12-31T23:59:59+23:59", "2000-02-29T00:00:00Z", "2024-02-29T23:59:59.5+05:30",
		"2026-12-31T23:59:59.5-01:00", "2027-01-01T00:30:00+01:00", "2026-03-01T00:00:00Z",
		"2026-02-28T23:59:59Z", "1600-02-29T00:00:00Z", "2400-02-29T00:00:00Z", "2026-01-31T00:00:00Z",
		"2026-04-30T00:00:00Z", "2026-07-31T00:00:00Z", "2026-08-31T00:00:00Z", "2026-12-31T00:00:00Z",
		"2026-11-21T13:00:00.1Z", "2026-11-21T13:00:00.12Z", "2026-11-21T13:00:00.1234Z",
		"2026-11-21T13:00:00.12345Z", "2026-11-21T13:00:00.123456Z", "2026-11-21T13:00:00.1234567Z",
		"2026-11-21T13:00:00.12345678Z", "2026-11-21T13:00:00.123456789Z", "2026-11-21T13:00:00.000000001-00:00",
		"2026-11-21T13:00:00+00:00", "2026-11-21T13:00:00-00:01",
	}
	for _, s := range fast {
		if !checkRFC3339(t, s) {
			t.Errorf("%q: fast path declined", s)
		}
	}
	// Valid or not, the general parser decides these.
	others := []string{
		"2026-11-21t13:00:00Z", "2026-11-21 13:00:00Z", "2026-11-21T13:00:00z", "2026-11-21T13:00:00.1234567890Z",
		"2026-11-21T13:00:00.Z", "2026-11-21T13:00:00", "2026-11-21T13:00:00+0100", "2026-11-21T13:00:00+01:00x",
		"2026-11-21T13:00:00Zjunk", "2026-11-21T13:00:00+24:00", "2026-11-21T13:00:00+01:60", "2026-11-21T24:00:00Z",
		"2026-11-21T13:60:00Z", "2026-11-21T13:00:60Z", "2026-13-21T13:00:00Z", "2026-00-21T13:00:00Z",
		"2026-11-00T13:00:00Z", "2026-11-31T13:00:00Z", "1900-02-29T00:00:00Z", "2100-02-29T00:00:00Z",
		"2023-02-29T00:00:00Z", "2026-11-21T13:00:0aZ", "-026-11-21T13:00:00Z", "2026-1-21T13:00:00Z...",
		"2026-11-21T13:00:00.12a4Z", "2026-11-21T13:00:00+01:0", "2026-11-21T13:00:00+1:00Z",
		"2026-11-21T13:00:00 01:00", "2026-11-21T13:00:00.123456789+01:00Z",
		// Bytes just past '9' (':' ';' '?') and past ASCII where digits belong.
		"20:6-11-21T13:00:00Z", "2026-1;-21T13:00:00Z", "2026-11-2?T13:00:00Z", "2026-11-21T1:_00:00Z",
		"2026-11-21T13:0;:00Z", "2026-11-21T13:00:0:Z", "2026-11-21T13:00:\xff0Z", "\xfa026-11-21T13:00:00Z",
	}
	for _, s := range others {
		if checkRFC3339(t, s) {
			t.Errorf("%q: fast path took it", s)
		}
	}
}

// TestRFC3339FastMatches formats random dates, valid and not, in every separator, fraction
// length and zone form, and checks the fast path against the general parser and time.Parse.
func TestRFC3339FastMatches(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	pick := func(lo, hi int) int { return lo + r.IntN(hi-lo+1) }
	took := 0
	for range 300000 {
		var year int
		switch r.IntN(4) {
		case 0:
			year = pick(0, 9999)
		case 1:
			year = []int{0, 1, 4, 100, 399, 400, 1600, 1900, 1969, 1970, 2000, 2100, 2400, 9999}[r.IntN(14)]
		default:
			year = pick(1950, 2100)
		}
		month, day := pick(1, 12), pick(1, 31)
		if r.IntN(20) == 0 {
			month = pick(0, 13)
		}
		hour, minute, sec := pick(0, 23), pick(0, 59), pick(0, 59)
		if r.IntN(20) == 0 {
			hour, minute, sec = pick(0, 24), pick(0, 60), pick(0, 60)
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "%04d-%02d-%02d%c%02d:%02d:%02d", year, month, day, "TTTTTTts"[r.IntN(8)], hour, minute, sec)
		if n := r.IntN(12); n > 0 {
			sb.WriteByte('.')
			for range n - 1 {
				sb.WriteByte(byte('0' + r.IntN(10)))
			}
		}
		switch r.IntN(6) {
		case 0:
			sb.WriteByte('z')
		case 1, 2:
			sb.WriteByte('Z')
		default:
			oh, om := pick(0, 23), pick(0, 59)
			if r.IntN(20) == 0 {
				oh, om = pick(0, 24), pick(0, 60)
			}
			fmt.Fprintf(&sb, "%c%02d:%02d", "+-"[r.IntN(2)], oh, om)
		}
		if checkRFC3339(t, sb.String()) {
			took++
		}
	}
	if took < 150000 {
		t.Fatalf("fast path took only %d of the strings", took)
	}
}

// FuzzRFC3339Fast: on any bytes, the fast path either declines or agrees with the general
// parser (it reads words and checks digits eight at a time, so bytes past ASCII in every
// position must not slip through).
func FuzzRFC3339Fast(f *testing.F) {
	for _, s := range []string{"2026-11-21T08:00:00.123Z", "2026-11-21T13:00:00+01:00", "9999-12-31T23:59:59.999999999-23:59",
		"2026-11-21T13:00:0\xffZ", "2026-1\xfa-21T13:00:00Z", "2026-11-21T13:00:00.\xfa23Z"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, ok := parseRFC3339Fast(b)
		if !ok {
			return
		}
		general, err := parseRFC3339General(b)
		if err != nil || fast != general {
			t.Fatalf("%q: fast path %v, general parser %v, %v", b, fast, general, err)
		}
	})
}
