package decode

import (
	"encoding/binary"
	"math/bits"
)

// jstring checks the string starting at b[i] == '"' and returns the offset past its closing
// quote and whether it contains escapes.
//
// Strings are most of a record's bytes, and most of their bytes are plain, so runs of plain
// bytes are skipped eight at a time (see special8); the byte loop takes over near the end of
// the buffer. jvalue and jobject first try plainRun, which inlines and settles a string
// without escapes unless it ends in the buffer's last 7 bytes (it reads whole words): the call
// to jstring was a good part of the cost of a short string.
func (d *Decoder) jstring(b []byte, i int) (end int, esc bool, err error) {
	j := i + 1
	for {
		if j+8 <= len(b) {
			m := special8(binary.LittleEndian.Uint64(b[j:]))
			if m == 0 {
				j += 8
				continue
			}
			j += bits.TrailingZeros64(m) >> 3
		} else {
			for j < len(b) && !strSpecial[b[j]] {
				j++
			}
			if j >= len(b) {
				break
			}
		}
		c := b[j]
		switch {
		case c == '"':
			return j + 1, esc, nil
		case c == '\\':
			esc = true
			if j+1 >= len(b) {
				return j, esc, d.jerr(j, "unterminated escape")
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(b) || !isHex4(b[j+2:j+6]) {
					return j, esc, d.jerr(j, "invalid \\u escape")
				}
				j += 6
			default:
				return j, esc, d.jerr(j, "invalid escape")
			}
		case c < 0x20:
			return j, esc, d.jerr(j, "control character in a string")
		default:
			j++
		}
	}
	return j, esc, d.jerr(i, "unterminated string")
}

// strSpecial marks the bytes that end a run of plain string content: the quote, the backslash
// and the control characters JSON forbids in strings.
var strSpecial = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

const (
	lsb8 = 0x0101010101010101
	msb8 = 0x8080808080808080
)

// special8 flags, in the high bit of each byte, the bytes of the little-endian word w that
// strSpecial marks, with the classic SWAR tests: x has a zero byte where (x-0x01..) & ^x has
// its high bit set, and a byte below n where (x-n·0x01..) & ^x does. A borrow can also flag a
// byte above a true hit, never below one, so the lowest flag is exact: callers use only that.
func special8(w uint64) uint64 {
	q := w ^ (lsb8 * '"')
	bs := w ^ (lsb8 * '\\')
	return ((q-lsb8)&^q | (bs-lsb8)&^bs | (w-lsb8*0x20)&^w) & msb8
}

// plainRun returns the offset of the first byte at or after j that strSpecial marks, or -1
// when the buffer has fewer than 8 bytes left before one.
func plainRun(b []byte, j int) int {
	for ; j+8 <= len(b); j += 8 {
		if m := special8(binary.LittleEndian.Uint64(b[j:])); m != 0 {
			return j + bits.TrailingZeros64(m)>>3
		}
	}
	return -1
}
