package decode

// JSON numbers are validated and, in the same pass, converted when that can be done exactly
// with one floating-point operation: the fields of machine-written records are mostly small
// integers and short decimals (200, 1234, 12.3), for which strconv.ParseFloat's general
// machinery is far more work than the value needs.
//
// The conversion is Clinger's fast path, which strconv itself takes first: when the decimal
// mantissa m is below 2^53 (exactly representable) and |e| ≤ 22 (10^|e| is exactly
// representable), m·10^e or m/10^-e is a single IEEE operation on exact operands, hence
// correctly rounded — the same float64 ParseFloat returns, bit for bit. Capping the mantissa at
// 15 digits (< 10^15 < 2^53) keeps the check to a digit count.

// maxExactDigits is the most mantissa digits the fast path takes.
const maxExactDigits = 15

// exactPow10 holds the powers of ten that float64 represents exactly.
var exactPow10 = [...]float64{
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
}

// maxExpAccum bounds the exponent digits accumulated, so that an absurd exponent cannot
// overflow the int; any exponent beyond it is far outside the fast path anyway.
const maxExpAccum = 1 << 20

// jnumber checks the number starting at b[i] against JSON's grammar and returns its end. When
// exact is true, f is the number's value (what strconv.ParseFloat returns for b[i:end]);
// otherwise the caller converts the text itself.
func (d *Decoder) jnumber(b []byte, i int) (end int, f float64, exact bool, err error) {
	start := i
	neg := false
	if b[i] == '-' {
		neg = true
		i++
	}
	// mant accumulates every digit of the integer and fraction parts (it may wrap past 19
	// digits; nd then rules the fast path out); exp is the power of ten to scale it by.
	var mant uint64
	nd, exp := 0, 0
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			mant = mant*10 + uint64(b[i]-'0')
			nd++
			i++
		}
	default:
		return i, 0, false, d.jerr(start, "invalid number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, 0, false, d.jerr(start, "invalid number: no digits after '.'")
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			mant = mant*10 + uint64(b[i]-'0')
			nd++
			exp--
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		eneg := false
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			eneg = b[i] == '-'
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, 0, false, d.jerr(start, "invalid number: no digits in the exponent")
		}
		e := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if e < maxExpAccum {
				e = e*10 + int(b[i]-'0')
			}
			i++
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if nd > maxExactDigits || exp < -22 || exp > 22 {
		return i, 0, false, nil
	}
	f = float64(mant)
	if exp < 0 {
		f /= exactPow10[-exp]
	} else {
		f *= exactPow10[exp]
	}
	if neg {
		f = -f
	}
	return i, f, true, nil
}
