package decode

import (
	"encoding/binary"
	"time"
)

// parseRFC3339Fast parses the shape of nearly every event time machines write,
// YYYY-MM-DDTHH:MM:SS, an optional fraction of 1 to 9 digits, then Z or ±hh:mm, and computes
// the instant arithmetically (days from the civil date) rather than through time.Date and
// Time.Add, which were most of the cost of parsing it. It returns ok false for anything else,
// valid or not (lower-case 't' and 'z', a space for 'T', longer fractions, out-of-range
// fields); parseRFC3339General then decides, so the results are the same by construction
// (TestRFC3339FastMatches and FuzzRFC3339Fast check it).
//
// The date and time are read as three little-endian words and checked eight bytes at a time
// (see dateDigits): a byte at a time, the 19 characters took more instructions than the rest
// of the runner's per-record work on them.
func parseRFC3339Fast(b []byte) (t time.Time, ok bool) {
	if len(b) < 20 || len(b) > 35 {
		return t, false
	}
	w0 := binary.LittleEndian.Uint64(b)      // YYYY-MM-
	w1 := binary.LittleEndian.Uint64(b[8:])  // DDTHH:MM
	w2 := binary.LittleEndian.Uint32(b[16:]) // :SS and the byte after
	if w0&sepMask0 != sepWant0 || w1&sepMask1 != sepWant1 || w2&0xff != ':' ||
		!dateDigits(w0, digitMask0) || !dateDigits(w1, digitMask1) || !dateDigits(uint64(w2), digitMask2) {
		return t, false
	}
	d0, d1, d2 := w0&0x0f0f0f0f0f0f0f0f, w1&0x0f0f0f0f0f0f0f0f, w2&0x0f0f0f0f
	digit := func(w uint64, k uint) int { return int(w >> (8 * k) & 0xf) }
	year := digit(d0, 0)*1000 + digit(d0, 1)*100 + digit(d0, 2)*10 + digit(d0, 3)
	month := digit(d0, 5)*10 + digit(d0, 6)
	day := digit(d1, 0)*10 + digit(d1, 1)
	hour := digit(d1, 3)*10 + digit(d1, 4)
	minute := digit(d1, 6)*10 + digit(d1, 7)
	sec := digit(uint64(d2), 1)*10 + digit(uint64(d2), 2)
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return t, false
	}
	i, nsec := 19, 0
	if b[i] == '.' {
		i++
		start := i
		for i < len(b) && i-start < 9 && b[i] >= '0' && b[i] <= '9' {
			nsec = nsec*10 + int(b[i]-'0')
			i++
		}
		n := i - start
		if n == 0 || i < len(b) && b[i] >= '0' && b[i] <= '9' { // no digits, or more than 9
			return t, false
		}
		nsec *= nsecScale[n]
	}
	offset := 0
	switch {
	case i == len(b)-1 && b[i] == 'Z':
	case i == len(b)-6 && (b[i] == '+' || b[i] == '-') && b[i+3] == ':':
		oh, ok1 := digits2(b, i+1)
		om, ok2 := digits2(b, i+4)
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return t, false
		}
		offset = (oh*60 + om) * 60
		if b[i] == '-' {
			offset = -offset
		}
	default:
		return t, false
	}
	unix := daysFromCivil(year, month, day)*86400 + int64(hour*3600+minute*60+sec-offset)
	return time.Unix(unix, int64(nsec)).UTC(), true
}

// The fixed part of an RFC 3339 time as three little-endian words (byte k at bits 8k): where
// its separators are, what they must be, and where its digits are.
const (
	sepMask0   = 0xff<<32 | 0xff<<56 // YYYY-MM-: the dashes
	sepWant0   = '-'<<32 | '-'<<56
	sepMask1   = 0xff<<16 | 0xff<<40 // DDTHH:MM: 'T' and the colon
	sepWant1   = 'T'<<16 | ':'<<40
	digitMask0 = 0x00ffff00ffffffff
	digitMask1 = 0xffff00ffff00ffff
	digitMask2 = 0x0000000000ffff00 // :SS and the byte after (not a digit here)
)

// dateDigits reports whether every byte of w that mask selects is an ASCII digit: its high
// nibble is 3, and adding 6 leaves it so (0x30–0x39 do, 0x3a–0x3f do not). The caller has
// checked that the other bytes are ASCII separators, so adding 6 carries out of no byte that
// matters: a carry out of a selected byte only happens when its high nibble is not 3, which
// the first test has already caught.
func dateDigits(w, mask uint64) bool {
	const hi, three, six = 0xf0f0f0f0f0f0f0f0, 0x3030303030303030, 0x0606060606060606
	return w&mask&hi == three&mask && (w+six)&mask&hi == three&mask
}

// nsecScale[n] turns an n-digit fraction of a second into nanoseconds.
var nsecScale = [10]int{0, 1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 1e2, 1e1, 1}

// digits2 parses the two decimal digits at b[i:] (the caller has checked the length).
func digits2(b []byte, i int) (int, bool) {
	d0, d1 := b[i]-'0', b[i+1]-'0'
	return int(d0)*10 + int(d1), d0 <= 9 && d1 <= 9
}

// daysIn is the number of days in month (1-12) of the proleptic Gregorian year.
func daysIn(month, year int) int {
	if month == 2 {
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	return 30 + (month+month>>3)&1 // 31 in Jan, Mar, May, Jul, Aug, Oct, Dec
}

// daysFromCivil returns the days from 1970-01-01 to the proleptic Gregorian date, year 0 to
// 9999 (Howard Hinnant's days_from_civil: years start in March, so the leap day is last, and
// repeat in 400-year eras of 146097 days). The year is shifted by one era so that the
// arithmetic is unsigned: its divisions by constants are then plain multiplications.
func daysFromCivil(year, month, day int) int64 {
	y := uint(year) + 400
	if month <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400                                                  // [0, 399]
	doe := yoe*365 + yoe/4 - yoe/100 + marchDays[month] + uint(day) - 1 // [0, 146096]
	return int64(era*146097+doe) - 719468 - 146097
}

// marchDays[m] is the number of days from 1 March to the first of month m (1-12) in a year that
// starts in March.
var marchDays = [13]uint{0, 306, 337, 0, 31, 61, 92, 122, 153, 184, 214, 245, 275}
