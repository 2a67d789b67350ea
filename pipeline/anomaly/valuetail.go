package anomaly

import "math"

// valueTail is how often, and how regularly, the series' values go as far out as a given value:
// a histogram of the value against the slow reference (the novelty model's centre and spread),
// in bins one spread wide over ±ctxHalf·ctxWidth spreads (the span the novelty levels already
// bound), the two ends open, each bin's rate per point a running average while young and then
// an EWMA over Memory points; and, per bin, the spacing in time of the series' trips out to at
// least that bin.
//
// A CPU that reaches the same height every night, on schedule, has that height in its own
// upper tail once a day, and a deviation out to it is worth no more than that: a user does not
// want to be paged for the job that runs every night. So a deviation out to a value is bounded
// by −ln of the rate of values at least as far out, but only while the trip it belongs to came
// on schedule: the trips out that far have come at nearly constant spacing (the gaps'
// coefficient of variation below regularCV after regularTrips trips) and this one began at
// about that spacing after the last. An irregular excursion to a rare value, or the routine
// value at an unscheduled time (a night's level in the afternoon), is news and is not bounded.
// Nor is a value landing in the body of the series (a daily rise that fails): the bound speaks
// only for a value going out beyond its expectation, whose timing is otherwise the residual's
// to judge (bench/nab/DECISIONS.md 174, 178, 181). Nothing is indexed by time of day: only the
// spacing of trips is kept.
type valueTail struct {
	n    int64
	rate [2 * valueSpan]float64
	prev int // the previous point's bin
	// Per bin, the trips out to at least that bin on its side (a point that far out whose
	// predecessor was not): how many, when the last began (Unix seconds), the EWMA mean and
	// variance of the gaps between them.
	trips   [2 * valueSpan]float64
	last    [2 * valueSpan]float64
	gap     [2 * valueSpan]float64
	gapVari [2 * valueSpan]float64
	onTime  uint64 // bit i: the last trip out to bin i began on schedule
}

// valueSpan is the histogram's half-width in reference spreads.
const valueSpan = ctxHalf * ctxWidth

const (
	// tripRate is the weight of the latest gap in the gaps' mean and variance once they are an
	// EWMA; the first gaps are averaged plainly (the k-th at 1/k). At 1/(regularTrips+1) the
	// average stays plain through the first gap judged against it and the next, then keeps that
	// weight (about the last four trips, a few nights): how many trips make a schedule is said
	// once, by regularTrips (bench/nab/DECISIONS.md 329).
	tripRate = 1.0 / (regularTrips + 1)
	// regularCV is the coefficient of variation of the gaps below which trips are regular, and
	// the share of the mean gap within which a trip is on schedule: a clock gives 0, memoryless
	// (Poisson) arrivals 1, and a half is halfway.
	regularCV = 0.5
	// regularTrips is how many trips must have been seen before their spacing says anything
	// (two gaps).
	regularTrips = 3
)

// observe folds v (at now, Unix seconds) in, against centre c and spread w, and returns −ln of
// the rate of values at least as far from c as v on v's side, counted before v, when v lies
// farther from c than its expectation exp on the same side, its trip out came on schedule, and
// that rate exceeds floor (a tail the series has not visited says nothing about familiarity);
// +Inf otherwise (no bound).
func (t *valueTail) observe(v, exp, c, w, slow, floor, now float64) float64 {
	t.n++
	k := t.bin(v, c, w)
	if t.n > 1 {
		// The bins this point reaches on its side that the previous point did not.
		if k >= valueSpan {
			for i := max(valueSpan, t.prev+1); i <= k; i++ {
				t.trip(i, now)
			}
		} else {
			for i := min(valueSpan-1, t.prev-1); i >= k; i-- {
				t.trip(i, now)
			}
		}
	}
	t.prev = k
	bound := math.Inf(1)
	// t.n > 1 is implied (onTime is set only by a trip, from the second point), and kept: without
	// it Observe was slower (bench/nab/DECISIONS.md, round 50).
	if t.n > 1 && t.onTime&(1<<k) != 0 && math.Abs(v-c) > math.Abs(exp-c) && (v-c)*(v-exp) > 0 {
		if f := t.beyond(k, v > c); f > floor {
			bound = -math.Log(f)
		}
	}
	r := rate(slow, t.n)
	for i := range t.rate {
		t.rate[i] -= r * t.rate[i]
	}
	t.rate[k] += r
	return bound
}

// bin is the histogram's bin of v against centre c and spread w, the two ends open.
func (t *valueTail) bin(v, c, w float64) int {
	// Clamped before the conversion: a quotient beyond an int's range (a far value over a spread
	// of 1e-9, or an infinite one) converts to an implementation-defined int, math.MinInt64 on
	// amd64, which put a value far above the centre in the lowest bin. A NaN (a state gone
	// non-finite, which the detector's bound on values prevents) fails both comparisons and
	// takes the lowest bin, not an index out of range.
	switch k := math.Floor((v - c) / w); {
	case k >= valueSpan-1:
		return 2*valueSpan - 1
	case k >= -valueSpan:
		return int(k) + valueSpan
	}
	return 0
}

// beyond returns the rate of values in bin k or farther from the centre on its side (above it
// when up).
func (t *valueTail) beyond(k int, up bool) float64 {
	var f float64
	if up {
		for i := k; i < len(t.rate); i++ {
			f += t.rate[i]
		}
	} else {
		for i := 0; i <= k; i++ {
			f += t.rate[i]
		}
	}
	return f
}

// trip records a trip out to bin i beginning at now: whether it is on schedule (judged against
// the gaps before it), then its gap.
func (t *valueTail) trip(i int, now float64) {
	t.onTime &^= 1 << i
	// A clock that steps back (points out of order) gives no gap, only a new start.
	if g := now - t.last[i]; t.trips[i] > 0 && g > 0 {
		if t.trips[i] >= regularTrips && t.gap[i] > 0 && math.Sqrt(t.gapVari[i]) < regularCV*t.gap[i] &&
			math.Abs(g-t.gap[i]) < regularCV*t.gap[i] {
			t.onTime |= 1 << i
		}
		r := math.Max(tripRate, 1/t.trips[i])
		d := g - t.gap[i]
		t.gap[i] += r * d
		t.gapVari[i] = (1 - r) * (t.gapVari[i] + r*d*d)
	}
	t.trips[i]++
	t.last[i] = now
}
