package decode

import (
	"math"
	"strconv"
)

// Msgpack numbers are binary, but a Value carries the number's text too (contributor keys are
// built from it), so the decoder formats every captured number: integers exactly, floats in the
// shortest form that reads back (see appendFloat). strconv's general formatting would be a
// large share of a msgpack decode, so the common shapes are written without it: digits go
// right to left into a fixed slot of scratch, which leaves the text where it ends and needs no
// copy.

// maxNumberText bounds the text of one formatted number ("-1.2345678901234567e-308"): the
// scratch space decodeMsgpack reserves per field.
const maxNumberText = 32

// numSlot is the scratch a number written in place takes: enough for any int64 or uint64 (20
// characters) and for shortDecimal's numbers (at most 16 digits, a sign and a point).
const numSlot = 24

// mnumber formats a numeric header into scratch and sets o to it.
func (d *Decoder) mnumber(h mhdr, o *Value) {
	start := len(d.scratch)
	// decodeMsgpack reserved maxNumberText per field and each field is set once, so the slot
	// is within capacity.
	slot := (*[numSlot]byte)(d.scratch[start : start+numSlot])
	var f float64
	var i int
	switch h.t {
	case mInt:
		f = float64(int64(h.u))
		i = putInt(slot, int64(h.u))
	case mUint:
		f = float64(h.u)
		i = putUint(slot, numSlot, h.u)
	case mFloat64:
		f = math.Float64frombits(h.u)
		if n, k, ok := shortDecimal(f); ok {
			i = putDecimal(slot, n, k)
			break
		}
		d.scratch = appendFloat(d.scratch, f, 64)
		o.Kind, o.Bytes, o.Num = Number, d.scratch[start:len(d.scratch):len(d.scratch)], f
		return
	default: // mFloat32: rare, and shortDecimal's test is for float64 only
		f = float64(math.Float32frombits(uint32(h.u)))
		d.scratch = appendFloat(d.scratch, f, 32)
		o.Kind, o.Bytes, o.Num = Number, d.scratch[start:len(d.scratch):len(d.scratch)], f
		return
	}
	d.scratch = d.scratch[:start+numSlot]
	o.Kind, o.Bytes, o.Num = Number, slot[i:numSlot:numSlot], f
}

// digitPairs is "00" to "99": two digits per division by 100 halves the dependent divisions.
const digitPairs = "00010203040506070809" + "10111213141516171819" + "20212223242526272829" +
	"30313233343536373839" + "40414243444546474849" + "50515253545556575859" +
	"60616263646566676869" + "70717273747576777879" + "80818283848586878889" +
	"90919293949596979899"

// putUint writes u's decimal digits so that they end just before slot[i] and returns the index
// of the first.
func putUint(slot *[numSlot]byte, i int, u uint64) int {
	for u >= 100 {
		q := u / 100
		r := u - q*100
		i -= 2
		slot[i], slot[i+1] = digitPairs[2*r], digitPairs[2*r+1]
		u = q
	}
	if u >= 10 {
		i -= 2
		slot[i], slot[i+1] = digitPairs[2*u], digitPairs[2*u+1]
		return i
	}
	i--
	slot[i] = byte('0' + u)
	return i
}

// putInt writes v in decimal at the end of slot and returns the index of its first character.
func putInt(slot *[numSlot]byte, v int64) int {
	if v >= 0 {
		return putUint(slot, numSlot, uint64(v))
	}
	i := putUint(slot, numSlot, -uint64(v)) // -uint64 is exact for math.MinInt64 too
	i--
	slot[i] = '-'
	return i
}

// putDecimal writes n / 10^k in plain decimal notation (exactly k digits after the point, and
// "0" before it when |n| < 10^k) at the end of slot and returns the index of its first
// character. |n| < 2^53 and k <= 6, as shortDecimal returns them.
func putDecimal(slot *[numSlot]byte, n int64, k int) int {
	u := uint64(n)
	if n < 0 {
		u = -u
	}
	i := numSlot
	if k > 0 {
		for range k {
			i--
			slot[i] = byte('0' + u%10)
			u /= 10
		}
		i--
		slot[i] = '.'
	}
	i = putUint(slot, i, u)
	if n < 0 {
		i--
		slot[i] = '-'
	}
	return i
}

// pow10 holds the exact powers of ten used by shortDecimal.
var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6}

// shortDecimal finds, for values with at most 6 decimals and under 2^53 once scaled
// (latencies, prices), the n and smallest k for which n/10^k gives f back: n/10^k is exact in
// IEEE division, so "n with k decimals" is what strconv's shortest formatting prints too. ok
// is false for other values.
//
// Below 2^50 once scaled by 10^6, one test at k = 6 settles it, and most floats in records
// (computed latencies and ratios, full precision) fail all seven tests, each with a division.
// Why one test is enough: if n/10^k gives f for some k <= 6, f = (n/10^k)(1+e) with |e| <=
// 2^-53, so with N = n*10^(6-k) (about) under 2^50 the product f*10^6 is within N*2^-53 of
// N before rounding to a double and within twice that, under 1/2, after; it rounds to N, and
// N/10^6, the
// same rational as n/10^k, gives f. Conversely the k = 6 success gives N, and N without its
// trailing zeros (k lowered to match) is the smallest k's n by the same argument.
func shortDecimal(f float64) (n int64, k int, ok bool) {
	abs := math.Abs(f)
	if !(abs >= 1e-6 && abs < 1<<53) {
		return 0, 0, false
	}
	if scaled := f * 1e6; math.Abs(scaled) < 1<<50 {
		n := roundSmall(scaled)
		if float64(n)/1e6 != f {
			return 0, 0, false
		}
		// Strip up to six trailing zeros in three independent-width steps rather than six
		// dependent divisions by ten.
		u, k := uint64(n), 6
		if n < 0 {
			u = -u
		}
		if u%1000 == 0 {
			u, k = u/1000, k-3
		}
		if u%100 == 0 {
			u, k = u/100, k-2
		}
		if u%10 == 0 {
			u, k = u/10, k-1
		}
		if n < 0 {
			return -int64(u), k, true
		}
		return int64(u), k, true
	}
	for k, p := range pow10 {
		scaled := f * p
		if math.Abs(scaled) >= 1<<53 {
			break
		}
		if n := roundSmall(scaled); float64(n)/p == f {
			return n, k, true
		}
	}
	return 0, 0, false
}

// roundSmall is math.Round for |x| < 2^53, which the compiler does not turn into an
// instruction: there the truncation and the fraction x - t are exact, and t±1 too.
func roundSmall(x float64) int64 {
	n := int64(x)
	if r := x - float64(n); r >= 0.5 {
		n++
	} else if r <= -0.5 {
		n--
	}
	return n
}

// appendFloat formats like JavaScript's Number#toString (and encoding/json): plain decimal
// for magnitudes in [1e-6, 1e21), exponent form outside.
func appendFloat(dst []byte, f float64, bits int) []byte {
	if bits == 64 {
		if n, k, ok := shortDecimal(f); ok {
			var slot [numSlot]byte
			i := putDecimal(&slot, n, k)
			return append(dst, slot[i:]...)
		}
	}
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return strconv.AppendFloat(dst, f, 'e', -1, bits)
	}
	return strconv.AppendFloat(dst, f, 'f', -1, bits)
}
