package anomaly

import "math"

// zeros is the "activity stops" channel: how unusual the current run of zeros is. A count
// that falls to zero is a drop the forecaster under-rates on a bursty series (its deviation is
// wide, so zero is only a few deviations below the level), yet on a series that is rarely zero,
// zero itself is the news. The raw surprise of a run of k zeros is −ln p0 − (k−1) ln q: p0
// the series' rate of zeros, q the rate at which a zero follows a zero, both learned over the
// slow horizon. It is re-evaluated when the run reaches 1, 2, 4, 8, … points, so that a long
// run escalates a few times rather than at every point; between those lengths the price is held,
// and a point at a held price is not a report (holding; detector.go): the stop has not lasted
// twice as long, and nothing but the calibration has moved. tailCurve then recalibrates it by how
// often this series' points reach such prices (a zero-inflated series learns that its runs are
// ordinary): every point is an event to it, a held zero included, so a long stop teaches it one
// event per point and discounts the series' next stops for weeks. Counting a held zero as no event
// (bench/nab/DECISIONS.md 456) left the stop's re-pricings a few nats higher and lost a return that
// had topped the last one by a hair; whether a return after a stop is reported is decided by the
// report rule's window, which holds that re-pricing, not by this curve. On a count (ObserveCount)
// a run's first zero reports at most its Poisson surprise at the expectation (detector.go).
type zeros struct {
	p0 float64 // EWMA of [v == 0]
	// q is learned at zeros only, of [the point before was zero too], but its weight is the
	// series' age in points (rate(slow, n)), not its count of zeros: on a series that is rarely
	// zero it stays near its start, 0.5, for thousands of points. Learning it over zeros, as an
	// average of zeros should be, failed TestCleanCountsFalseAlarms (round 84's first form of 415,
	// bench/nab/DECISIONS.md), so the weight stays as it is. It is not learned at the series'
	// first point, which has no point before it to be zero: learned there at weight 1, a series
	// opening with a zero had q set to 0, and a run of two zeros cost about ln Memory more for
	// weeks on a count rarely zero twice running; a long stop's price, raised with it, then
	// decided whether the count's return was reported, either way, by whether the series had
	// opened with a zero (bench/nab/DECISIONS.md 428, 450, 454).
	q    float64
	run  int64 // current run of zeros
	n    int64
	held float64 // raw surprise of the run, as of its last power-of-two length
	c    tailCurve
	// told says a point of the current run has been reported at even odds or better (set by
	// the detector, which alone knows the report): from then on the run's zeros are not the
	// pattern channel's (detector.go).
	told bool
}

// observe folds in v; tail and decay are the tail rates' EWMA rate and −ln(1 − tail).
func (z *zeros) observe(v, slow, tail, decay float64) float64 {
	z.n++
	if z.n == 1 {
		z.q = 0.5
	}
	zero := v == 0
	var s float64
	if zero {
		if k := z.run + 1; k&(k-1) == 0 {
			// Rates before this point; a floor of one zero per tail horizon keeps a series that
			// has never been zero from calling its first zero infinitely surprising. It is the
			// records' floor: both say "an event this series has not produced within the horizon
			// over which its tails are counted" (bench/nab/DECISIONS.md 276, 473).
			s = -math.Log(math.Max(z.p0, tail))
			s -= float64(z.run) * math.Log(math.Max(z.q, tail))
			z.held = s
		}
		s = z.held
	}
	out := z.c.correct(s)
	z.c.observe(s, true, tail, decay)
	r := rate(slow, z.n)
	z.p0 += r * (indicator(zero) - z.p0)
	if zero {
		// The first point has no point before it to be zero: learning [z.run > 0] there, at
		// weight 1, would replace q's start with 0 on every series that opens with a zero.
		if z.n > 1 {
			z.q += r * (indicator(z.run > 0) - z.q)
		}
		z.run++
	} else {
		z.run, z.told = 0, false
	}
	if z.n <= minEvidence {
		return 0
	}
	return out
}

// holding reports whether the point just observed is a zero the channel did not re-evaluate: the
// run's length is not a power of two, so its price is the one set at the last doubling.
func (z *zeros) holding() bool { return z.run&(z.run-1) != 0 }
