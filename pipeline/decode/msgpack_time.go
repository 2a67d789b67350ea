package decode

import (
	"encoding/binary"
	"strconv"
)

// msgpack's timestamp extension (ext type −1) is how msgpack writers encode an instant:
// vmihailenco/msgpack writes every time.Time that way. Left as an ext, its value would be the
// extension's binary data as a String, which no event-time reading understands, and every
// record timed by such a field would be dead-lettered. The decoder gives it as a Number
// instead: Unix epoch seconds, with text exact to the nanosecond ("1795271574.123"), which
// Value.Time reads back exactly and contributor keys and filters treat as any other number.

// extTimestamp is the ext type byte of the timestamp extension (−1).
const extTimestamp = 0xff

// mtimestamp reads the timestamp extension's data: 4 bytes (seconds), 8 (30 bits of
// nanoseconds over 34 of seconds) or 12 (nanoseconds, then signed seconds). ok is false for any
// other length, or nanoseconds past 999,999,999: not a timestamp, left as the ext it is.
func mtimestamp(data []byte) (sec int64, nsec uint32, ok bool) {
	switch len(data) {
	case 4:
		return int64(binary.BigEndian.Uint32(data)), 0, true
	case 8:
		v := binary.BigEndian.Uint64(data)
		sec, nsec = int64(v&(1<<34-1)), uint32(v>>34)
	case 12:
		nsec, sec = binary.BigEndian.Uint32(data), int64(binary.BigEndian.Uint64(data[4:]))
	default:
		return 0, 0, false
	}
	return sec, nsec, nsec < 1e9
}

// mtime sets o to the instant sec + nsec/1e9 as epoch seconds, its text written into scratch
// (at most 30 bytes: within the maxNumberText decodeMsgpack reserved for the field).
func (d *Decoder) mtime(sec int64, nsec uint32, o *Value) {
	start := len(d.scratch)
	whole, frac := sec, nsec
	if sec < 0 && nsec > 0 { // -5 s + 1 ns is -4.999999999
		d.scratch = append(d.scratch, '-')
		whole, frac = -(sec + 1), 1e9-nsec
	}
	d.scratch = strconv.AppendInt(d.scratch, whole, 10)
	if frac > 0 {
		var digits [10]byte
		digits[0] = '.'
		for k := 9; k >= 1; k-- {
			digits[k] = byte('0' + frac%10)
			frac /= 10
		}
		end := 10
		for digits[end-1] == '0' {
			end--
		}
		d.scratch = append(d.scratch, digits[:end]...)
	}
	o.Kind, o.Bytes = Number, d.scratch[start:len(d.scratch):len(d.scratch)]
	o.Num = float64(sec) + float64(nsec)/1e9
}
