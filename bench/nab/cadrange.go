package main

// contextRange quantises values for contextModel against the series' running range. CAD
// takes the minimum and maximum of the whole file, which a stream does not have (NAB hands
// them to every detector: lookahead); here the
// range is the running minimum and maximum, each pulled towards every value at the slow rate
// (1/Memory), so that a range stretched by one old extreme shrinks back over the memory
// horizon instead of compressing every later value into one level for ever. A value beyond
// the range extends it at once and takes the extreme level.
type contextRange struct {
	n      int64
	lo, hi float64
}

// ctxLevels is the number of quantisation levels, 2^ctxBits.
const ctxLevels = 1 << ctxBits

// level folds v into the range and returns its level in [0, ctxLevels).
func (r *contextRange) level(v, slow float64) int {
	r.n++
	if r.n == 1 {
		r.lo, r.hi = v, v
	}
	if v > r.hi {
		r.hi = v
	} else {
		r.hi += slow * (v - r.hi)
	}
	if v < r.lo {
		r.lo = v
	} else {
		r.lo += slow * (v - r.lo)
	}
	span := r.hi - r.lo
	if !(span > 0) {
		return 0
	}
	// As CAD has it: levels of span/(ctxLevels−1), so that only the maximum reaches the top.
	q := int((v - r.lo) / span * (ctxLevels - 1))
	return min(max(q, 0), ctxLevels-1)
}
