package decode

import (
	"errors"
	"math"
	"strconv"
	"time"
)

// Time interprets the value as an event time, without allocating on success:
//   - an RFC 3339 string: "2026-11-21T13:00:00Z", "2026-11-21T13:00:00.123+01:00" ('t' or a
//     space may stand for 'T', 'z' for 'Z');
//   - a CLF time, as the bracketed field holds it: "10/Oct/2000:13:55:36 -0700";
//   - a number, or a string holding only a decimal number: Unix epoch seconds when its
//     magnitude is below 1e11, epoch milliseconds otherwise (1e11 s is in the year 5138, 1e11 ms
//     in 1973, so no realistic timestamp is ambiguous). Fractions are kept to the nanosecond:
//     a plain decimal's text is read exactly (1795271574.123 is .123000000 s, where the
//     float64 nearest it is .122999906), other forms (exponents) through the float. msgpack
//     timestamps arrive as such numbers (see mtime.go).
//
// The result is in UTC.
func (v Value) Time() (time.Time, error) {
	switch v.Kind {
	case Number:
		if sec, ns, ok := exactEpoch(v.Bytes); ok {
			return epochParts(sec, ns)
		}
		return epochTime(v.Num)
	case String:
		b := v.Bytes
		// RFC 3339 first: it is what nearly every time field holds, and no decimal number has
		// a dash after four characters.
		if len(b) >= 20 && b[4] == '-' {
			return parseRFC3339(b)
		}
		if len(b) > 0 && (b[0] >= '0' && b[0] <= '9' || b[0] == '-') && isDecimal(b) {
			if sec, ns, ok := exactEpoch(b); ok {
				return epochParts(sec, ns)
			}
			f, err := strconv.ParseFloat(bytesToString(b), 64)
			if err != nil {
				return time.Time{}, errBadTime
			}
			return epochTime(f)
		}
		if len(b) >= 20 && b[2] == '/' {
			return parseCLFTime(b)
		}
	case Missing:
		return time.Time{}, errors.New("time field is missing")
	}
	return time.Time{}, errBadTime
}

var errBadTime = errors.New("time field is not RFC 3339, CLF time or epoch seconds/milliseconds")

func isDecimal(b []byte) bool {
	dot := false
	for k, c := range b {
		switch {
		case c >= '0' && c <= '9':
		case c == '-' && k == 0:
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return true
}

// maxEpochSeconds bounds an epoch timestamp (beyond year 300000 it is not one).
const maxEpochSeconds = 1e13

// exactEpoch reads a plain decimal epoch ("-?digits[.digits]", at most 18 integer digits) to
// the nanosecond, digits past it truncated: seconds below 1e11 in magnitude, milliseconds
// otherwise, as epochTime decides. ok is false for any other text.
func exactEpoch(b []byte) (sec, ns int64, ok bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	var whole int64
	i := 0
	for ; i < len(b) && b[i] != '.'; i++ {
		c := b[i]
		if c < '0' || c > '9' || i == 18 {
			return 0, 0, false
		}
		whole = whole*10 + int64(c-'0')
	}
	if i == 0 {
		return 0, 0, false
	}
	sec, scale := whole, 9 // scale: how many fraction digits are nanoseconds
	if whole >= 1e11 {
		sec, ns, scale = whole/1000, whole%1000*1e6, 6
	}
	var frac int64
	digits := 0
	for _, c := range b[min(i+1, len(b)):] {
		if c < '0' || c > '9' {
			return 0, 0, false
		}
		if digits < scale {
			frac, digits = frac*10+int64(c-'0'), digits+1
		}
	}
	for ; digits < scale; digits++ {
		frac *= 10
	}
	ns += frac
	if neg {
		sec, ns = -sec, -ns
	}
	return sec, ns, true
}

func epochParts(sec, ns int64) (time.Time, error) {
	if sec > maxEpochSeconds || sec < -maxEpochSeconds {
		return time.Time{}, errBadTime
	}
	return time.Unix(sec, ns).UTC(), nil
}

func epochTime(f float64) (time.Time, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return time.Time{}, errBadTime
	}
	if math.Abs(f) >= 1e11 {
		f /= 1000
	}
	if math.Abs(f) > maxEpochSeconds {
		return time.Time{}, errBadTime
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), nil
}

// digits parses b[i:i+n] as a decimal number; ok is false if any byte is not a digit.
func digits(b []byte, i, n int) (v int, ok bool) {
	if i+n > len(b) {
		return 0, false
	}
	for _, c := range b[i : i+n] {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func parseRFC3339(b []byte) (time.Time, error) {
	if t, ok := parseRFC3339Fast(b); ok {
		return t, nil
	}
	return parseRFC3339General(b)
}

// parseRFC3339General parses every RFC 3339 form Time accepts; parseRFC3339Fast takes the
// common ones first.
func parseRFC3339General(b []byte) (time.Time, error) {
	year, ok1 := digits(b, 0, 4)
	month, ok2 := digits(b, 5, 2)
	day, ok3 := digits(b, 8, 2)
	hour, ok4 := digits(b, 11, 2)
	minute, ok5 := digits(b, 14, 2)
	sec, ok6 := digits(b, 17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || b[7] != '-' ||
		!(b[10] == 'T' || b[10] == 't' || b[10] == ' ') || b[13] != ':' || b[16] != ':' {
		return time.Time{}, errBadTime
	}
	i := 19
	nsec := 0
	if i < len(b) && b[i] == '.' {
		i++
		start := i
		scale := 100000000
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			nsec += int(b[i]-'0') * scale
			scale /= 10
			i++
		}
		if i == start {
			return time.Time{}, errBadTime
		}
	}
	if i >= len(b) {
		return time.Time{}, errBadTime
	}
	offset := 0
	switch b[i] {
	case 'Z', 'z':
		i++
	case '+', '-':
		oh, ok1 := digits(b, i+1, 2)
		om, ok2 := digits(b, i+4, 2)
		if !ok1 || !ok2 || b[i+3] != ':' || oh > 23 || om > 59 {
			return time.Time{}, errBadTime
		}
		offset = (oh*60 + om) * 60
		if b[i] == '-' {
			offset = -offset
		}
		i += 6
	default:
		return time.Time{}, errBadTime
	}
	if i != len(b) {
		return time.Time{}, errBadTime
	}
	return civilTime(year, month, day, hour, minute, sec, nsec, offset)
}

var monthAbbrev = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// parseCLFTime parses "02/Jan/2006:15:04:05 -0700".
func parseCLFTime(b []byte) (time.Time, error) {
	if len(b) != 26 || b[2] != '/' || b[6] != '/' || b[11] != ':' || b[14] != ':' || b[17] != ':' ||
		b[20] != ' ' || (b[21] != '+' && b[21] != '-') {
		return time.Time{}, errBadTime
	}
	day, ok1 := digits(b, 0, 2)
	year, ok2 := digits(b, 7, 4)
	hour, ok3 := digits(b, 12, 2)
	minute, ok4 := digits(b, 15, 2)
	sec, ok5 := digits(b, 18, 2)
	oh, ok6 := digits(b, 22, 2)
	om, ok7 := digits(b, 24, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) || oh > 23 || om > 59 {
		return time.Time{}, errBadTime
	}
	month := 0
	for k, m := range monthAbbrev {
		if string(b[3:6]) == m {
			month = k + 1
			break
		}
	}
	offset := (oh*60 + om) * 60
	if b[21] == '-' {
		offset = -offset
	}
	return civilTime(year, month, day, hour, minute, sec, 0, offset)
}

// civilTime validates the fields and returns the instant in UTC; offset is the zone's seconds
// east of UTC.
func civilTime(year, month, day, hour, minute, sec, nsec, offset int) (time.Time, error) {
	if month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, errBadTime
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day { // 31 April, 29 February of a common year
		return time.Time{}, errBadTime
	}
	return t.Add(-time.Duration(offset) * time.Second), nil
}
