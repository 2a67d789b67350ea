package anomaly

import "math"

// stuck is the stuck-value channel: a value that holds for far longer than this series holds a
// value. An exporter that dies and repeats its last value, a frozen sensor or a stalled job's
// counter sit at an ordinary value, inside the band, and the forecaster's plain level soon
// predicts the frozen value exactly: the residual goes to zero. On a series with a daily shape
// the novelty model's levels are too wide for a run at one value to be a new context. So runs
// are judged by themselves (bench/nab/DECISIONS.md, rounds 42 and 43: the channel of 314 and
// 316, judged at its gate, 317, and not where repeats are the rule, 318).
//
// A run is k consecutive points each equal to the one before, and not zero (a run of zeros is the
// stops channel's, zeros.go, whose reason names it). It is judged as a flatline alert a team
// writes by hand, "the value has not changed for N windows" with N long against how long the
// metric normally holds a value: once it is longer than minEvidence repeats (the evidence every
// estimate here needs; 55 minutes at 5-minute windows, inside the hour a stall is worth a page
// in) and longer than twice the longest run the series has completed (a record of run length, as
// records.go's first visit beyond the series' range, with a margin of one doubling, the step run
// lengths are judged by). Short runs on a series whose values come in steps (a CPU at 0.1%, an
// hourly price) stay silent: round 42's forms, which spoke on them, cost NAB 0.5 to 1.5 points.
//
// Its raw surprise is priced at the run's first repeat from the series' rates before it (a run
// is no evidence of its own ordinariness): −ln p − (j−1) ln q at the first length j beyond
// ln(tailHorizon · Memory) (a run rarer than once per tail horizon, the floor of every rarity here:
// records, the value tail, the stops channel; bench/nab/DECISIONS.md 473, 477), p the series' share
// of repeats (repeats.share, floored at one per tail horizon) and q its rate of a repeat after a
// repeat, relative to p, never below p (a series too young to show its clusters is taken as
// independent). The gate says when a user would call the run a flatline, not how rare it is: the
// price stays that of the first rare length, at most 2 ln(tailHorizon · Memory). A run that starts
// before the series has minEvidence points is not judged: its rates are no evidence yet, and a
// value constant from the first point is a setting, not a stall. Nor is a run on a series where repeats are the rule (at least bodyShare
// of its points repeat the one before: small counts, a coarse gauge, a setting): the flatline is
// an alert for a metric that moves (body.go's line between a rare repeat and the rule).
//
// The channel speaks once per run: from the gate it holds its price until the run ends, so
// peaks.go reports the stall once, where re-evaluating the run at each doubling, as the stops
// channel does, reported it at 8, 16, 32 and 64 points (round 42). A held price past the gate is
// not a report once the run has been reported (holding; detector.go): the calibration's drift
// alone, on a run that lasts days, would otherwise lift it over the Quiet window again and again
// (bench/nab/DECISIONS.md 446). Until then the run is owed its page (owed, paged; decision 470): a
// gate that does not top the Quiet window (a larger excursion just before the stall) or that the
// residual outscores keeps the best report the run's price has had, judged at every point and not
// learned by the window, so the stall is reported once what masked it has left, not never; the
// run's own repeats, which lower its price through the curves, are no evidence against it. A report
// of another channel at least as high while the page is owed pays it (decision 480): one stall,
// one page, whichever channel's name is on it.
// tailCurve recalibrates the price by how often this series produces such runs.
type stuck struct {
	run     int64   // current run of repeats
	longest int64   // longest run of repeats the series has completed
	n       int64   // points observed
	held    float64 // raw surprise of the run once it has spoken, 0 before
	owed    float64 // highest report the run's price has had without being reported (detector.go)
	paged   bool    // the run's price has been reported: from then on it is held, no news
	due     float64 // raw surprise of the run under way, priced at its first repeat; 0: not judged
	pairs   float64 // share of points that repeat the one before, which repeated the one before it
	again   bool    // the last point repeated the one before (zeros too)
	c       tailCurve
}

// observe folds in v, not yet observed by r (the series' repeats: its previous value and share
// of repeats). slow is the EWMA rate over Memory; tail and decay are the tail rates' EWMA rate
// and −ln(1 − tail).
func (s *stuck) observe(v float64, r *repeats, slow, tail, decay float64) float64 {
	s.n++
	same := r.n > 0 && v == r.last
	var x float64
	if same && v != 0 {
		if s.run == 0 {
			s.due = s.price(r, tail)
		}
		if k := s.run + 1; s.held == 0 && k >= s.gate() {
			s.held = s.due
		}
		x = s.held
		s.run++
	} else {
		s.longest = max(s.longest, s.run)
		s.run, s.held, s.owed, s.paged = 0, 0, 0, false
	}
	out := s.c.correct(x)
	s.c.observe(x, true, tail, decay)
	s.pairs += rate(slow, s.n) * (indicator(same && s.again) - s.pairs)
	s.again = same
	// No minEvidence return, unlike the stops channel: out is the curve at 0, which is 0, until a
	// run reaches its gate, more than minEvidence repeats that this channel has observed.
	return out
}

// price is the raw surprise of a run starting now: that of its first length beyond −ln floor
// (floor: one run per tail horizon), from the series' rates before it; 0 when the series is
// younger than minEvidence points, when repeats are the rule on it (bodyShare, body.go's line: a setting held again for twice as long
// as ever is what a setting does, not a stall; 318), or when its repeats always follow one
// another (q = 1: no run is rare on it).
func (s *stuck) price(r *repeats, floor float64) float64 {
	if r.n <= minEvidence || r.share >= bodyShare {
		return 0
	}
	p := math.Max(r.share, floor)
	q := min(1, math.Max(p, s.pairs/p))
	a, b, lm := -math.Log(p), -math.Log(q), -math.Log(floor)
	if b == 0 {
		return 0
	}
	// p ≥ floor, so a ≤ lm: the first length j beyond it has j − 1 = ⌊(lm − a)/b⌋ + 1
	// (strictly beyond: one repeat on a series that has never repeated is exactly as rare as the
	// floor assumes, and no rarer).
	return a + (math.Floor((lm-a)/b)+1)*b
}

// gate is the length, in repeats, at which a run is judged: the first beyond minEvidence and
// beyond twice the longest run the series has completed.
func (s *stuck) gate() int64 { return max(minEvidence, 2*s.longest) + 1 }

// speaking reports whether the channel judges the run under way: it has spoken for it, or will at
// its gate. A run at one value is then this channel's news, and the novelty channel has nothing
// to add: left to speak on the way to the gate, it reports a stall beyond the series' p90 as an
// event of its own (bench/nab/DECISIONS.md 317).
func (s *stuck) speaking() bool { return s.run > 0 && s.due > 0 }

// holding reports whether the point just observed holds the run's price past its gate: the
// channel spoke for the run at the gate and has re-evaluated nothing since.
func (s *stuck) holding() bool { return s.held != 0 && s.run > s.gate() }

// repeats is how often the series' values equal the one before: the evidence a repeat carries.
type repeats struct {
	n     int64   // points observed
	last  float64 // the previous value
	share float64 // share of points equal to the one before: a running average, then an EWMA
}

// held reports whether v, not yet observed, repeats the value before: a value that has not moved,
// on any series (novelty.go keeps its level; bench/nab/DECISIONS.md 401, 431).
func (r *repeats) held(v float64) bool { return r.n > 0 && v == r.last }

// observe folds v in; slow is the EWMA rate (one over Memory points).
func (r *repeats) observe(v, slow float64) {
	if r.n > 0 {
		r.share += rate(slow, r.n) * (indicator(v == r.last) - r.share)
	}
	r.n++
	r.last = v
}
