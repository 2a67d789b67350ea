package decode

import "time"

// parseRFC3339Fast parses the shape of nearly every event time machines write,
// YYYY-MM-DDTHH:MM:SS, an optional fraction of 1 to 9 digits, then Z or ±hh:mm, and computes
// the instant arithmetically (days from the civil date) rather than through time.Date and
// Time.Add, which were most of the cost of parsing it. It returns ok false for anything else,
// valid or not (lower-case 't' and 'z', a space for 'T', longer fractions, out-of-range
// fields); parseRFC3339General then decides, so the results are the same by construction
// (TestRFC3339FastMatches checks it).
func parseRFC3339Fast(b []byte) (t time.Time, ok bool) {
	if len(b) < 20 || len(b) > 35 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return t, false
	}
	year, ok1 := digits4(b, 0)
	month, ok2 := digits2(b, 5)
	day, ok3 := digits2(b, 8)
	hour, ok4 := digits2(b, 11)
	minute, ok5 := digits2(b, 14)
	sec, ok6 := digits2(b, 17)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) ||
		month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
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

// nsecScale[n] turns an n-digit fraction of a second into nanoseconds.
var nsecScale = [10]int{0, 1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 1e2, 1e1, 1}

// digits2 and digits4 parse the two or four decimal digits at b[i:] (the caller has checked
// the length).
func digits2(b []byte, i int) (int, bool) {
	d0, d1 := b[i]-'0', b[i+1]-'0'
	return int(d0)*10 + int(d1), d0 <= 9 && d1 <= 9
}

func digits4(b []byte, i int) (int, bool) {
	hi, ok1 := digits2(b, i)
	lo, ok2 := digits2(b, i+2)
	return hi*100 + lo, ok1 && ok2
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
