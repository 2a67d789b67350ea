package anomaly

import "math"

// records is the "never seen before" evidence: whether a value lies beyond every value the
// series has produced, and how rare that is for this series. A detector handed the series'
// range in advance (as NAB hands every published detector) sees an anomaly as the first visit
// above, or below, every level the series' ordinary variation fills; a stream has only the
// range so far, and the rate of records per point says what leaving it is worth. For
// exchangeable values the n-th is a record with chance 2/n, so a series that wanders inside
// its range earns about ln n for leaving it, while a series that trends (a count that grows)
// sets records often and earns little for each.
//
// A record must clear the range by a margin the caller gives (bandZ of the series' long-run
// spread, an EWMA over Memory points like the range's own horizon, not the forecaster's
// 50-point deviation, which an excursion inflates for as long again after it; bench/nab
// decision 161): a new high by a hair on a drifting series is not news. Nor is a record while the
// series is younger than the forecaster's slow horizon (Memory/settleDiv points, over which its
// seasonal baseline and its choice of model settle): until then the range says how young the
// series is, not where it lives; such records still count in the rate. The rarity is added to the
// channels' surprise after the report curve (detector.go), and the curve learns the sum
// (bench/nab/DECISIONS.md 133–150).
type records struct {
	n      int64
	lo, hi float64 // the lowest and highest value so far
	// rate is records per point: a running average while young (the first point counts as
	// one), then an EWMA over Memory points, like every rate of the detector.
	rate float64
}

// observe folds v in and returns −ln of the series' record rate, taken before v counts and
// floored at one record per tail horizon, when v lies beyond the range by more than margin and
// the series has produced more than settled points; 0 otherwise.
func (r *records) observe(v, margin, slow, tail float64, settled int64) float64 {
	r.n++
	if r.n == 1 {
		r.lo, r.hi, r.rate = v, v, 1
		return 0
	}
	rec := v > r.hi+margin || v < r.lo-margin
	var s float64
	if rec && r.n > settled {
		s = -math.Log(math.Max(r.rate, tail))
	}
	r.lo, r.hi = math.Min(r.lo, v), math.Max(r.hi, v)
	r.rate += rate(slow, r.n) * (indicator(rec) - r.rate)
	return s
}
