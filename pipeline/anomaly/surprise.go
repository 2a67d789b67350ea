package anomaly

import "math"

// surprise calibrates a raw anomaly measure against the series' own history, in the manner of
// HTM's "anomaly likelihood": it optionally smooths the raw measure over a short window, keeps
// the long-run mean and variance of that value, and reports how far in the upper tail the
// current value lies, as −ln P(X ≥ x) under a normal approximation.
//
// This is what lets one configuration serve every series: a series whose residuals are always
// ragged (tweet volumes) learns a wide baseline and alarms only on what is unusual for it, while
// a quiet series alarms on a smaller deviation. The normal approximation is only a first
// guess; tailCurve and tailRate correct it with the frequencies the series really produces.
type surprise struct {
	n     int64
	short float64 // the measure, averaged over ~1/short points when smoothed
	mean  float64 // long-run EWMA mean of short
	vari  float64 // long-run EWMA variance of short
}

const (
	// shortRate averages the novelty measures over about ctxOrder points: a new pattern is a
	// context of ctxOrder levels, which passes in ctxOrder points at the fastest, and its burst of
	// new contexts becomes one clear signal (bench/nab/DECISIONS.md 330). The residual is not
	// smoothed: an isolated spike must stand on the point where it happens, not be averaged away
	// (bench/nab/DECISIONS.md 4, 12).
	shortRate = 1.0 / ctxOrder
	// minEvidence is the number of observations a baseline needs before its surprise counts:
	// a variance estimated from a handful of values near zero makes any later value look
	// impossibly rare (what made a young demo raise 49 alerts at once for values inside their
	// bands). The surprise is still computed and learned from meanwhile: it feeds the tail
	// recalibration, which it keeps conservative while the series is young. The forecaster's
	// deviation is an estimate like any other: its first minEvidence points are learned
	// unclipped (there is no deviation yet to clip by), and the residual channel does not
	// see them (one constant for both: bench/nab/DECISIONS.md 278).
	minEvidence = 10
	// residualPrior is the weight, in observations, of the residual baseline's prior (chosen
	// by leave-one-category-out on NAB over 10 and 1000: bench/nab/DECISIONS.md 38, 42, 43).
	residualPrior = 100
)

// observe folds raw (>= 0) in, averaged at rate smooth (1: not averaged), and returns the
// surprise of the point, computed against the baseline before it is updated with this point.
func (s *surprise) observe(raw, longRate, smooth float64) float64 {
	s.n++
	s.short += rate(smooth, s.n) * (raw - s.short)
	// A measure that sits at zero (the novelty of a quiet series) has no spread: the floor keeps
	// its first non-zero value from being infinitely surprising (bench/nab/DECISIONS.md 277).
	sd := math.Max(math.Sqrt(s.vari), 1e-3)
	var out float64
	if s.n > 1 {
		out = upperTailSurprise((s.short - s.mean) / sd)
	}
	r := rate(longRate, s.n)
	d := s.short - s.mean
	s.mean += r * d
	s.vari = (1 - r) * (s.vari + r*d*d)
	return out
}

// trusted reports whether the baseline had enough observations for the last surprise to
// count (minEvidence).
func (s *surprise) trusted() bool { return s.n > minEvidence }

// upperTailSurprise returns −ln Q(x) for the standard normal upper tail Q, without underflow
// for large x (where Q itself rounds to 0).
func upperTailSurprise(x float64) float64 {
	if x <= 0 {
		return 0 // below the baseline mean: not surprising (and −ln Q(0) is only ln 2)
	}
	if x < 30 {
		return -math.Log(0.5 * math.Erfc(x/math.Sqrt2))
	}
	// Asymptotic: Q(x) ≈ φ(x)/x. One term, where normalTailSurprise keeps three: the channels'
	// calibration was decided with this one, and the two differ by about 1/x² nats here.
	return x*x/2 + math.Log(x*math.Sqrt(2*math.Pi))
}

// normalTailSurprise returns −ln Q(x), Q the standard normal upper tail, for any x (unlike
// upperTailSurprise, which is 0 below the mean), without underflow for large x.
func normalTailSurprise(x float64) float64 {
	if x < 30 {
		return -math.Log(0.5 * math.Erfc(x/math.Sqrt2))
	}
	// Asymptotic: Q(x) ≈ φ(x)/x · (1 − 1/x² + 3/x⁴).
	x2 := x * x
	return x2/2 + math.Log(x*math.Sqrt(2*math.Pi)) - math.Log1p(-1/x2+3/(x2*x2))
}

// residualChannel is the calibrated surprise of the forecaster's standardised residual, point
// by point: its normal-approximation surprise recalibrated on ten levels by the frequencies
// this series' residuals really reach (tailCurve).
type residualChannel struct {
	s surprise
	c tailCurve
}

// observe folds in the standardised residual z; tail and decay are the tail rates' EWMA rate
// and −ln(1 − tail) (tailCurve.observe). settled says the series is old enough for the curve's
// ratio at its top to price what lies beyond it (tailCurve.correctPast).
func (e *residualChannel) observe(z, longRate, tail, decay float64, settled bool) float64 {
	if e.s.n == 0 {
		// The residual is standardised by the forecaster's own mean absolute deviation, so its
		// baseline is known before any is seen: mean 1, and the spread of |x|/E|x| for a
		// normal x, √(π/2 − 1). The prior is worth residualPrior observations, so a young
		// series' first residuals are judged against it rather than against each other, and a
		// level shift in its first hour does not leave it deaf for the next day.
		e.s.n, e.s.mean, e.s.vari = residualPrior, 1, math.Pi/2-1
	}
	s := e.s.observe(z, longRate, 1)
	out := e.c.correctPast(s, settled)
	e.c.observe(s, true, tail, decay)
	// No minEvidence check, unlike the novelty channel: the prior is worth residualPrior
	// observations, more than minEvidence, so the baseline is trusted from the first residual.
	return out
}

// peek returns the calibrated surprise observe would return for z, without learning it: the
// baseline and the tail curve are only read (young.go).
func (e *residualChannel) peek(z float64, settled bool) float64 {
	mean, vari := e.s.mean, e.s.vari
	if e.s.n == 0 {
		mean, vari = 1, math.Pi/2-1 // the prior observe starts from
	}
	sd := math.Max(math.Sqrt(vari), 1e-3)
	return e.c.correctPast(upperTailSurprise((z-mean)/sd), settled)
}

// noveltyChannel is the calibrated surprise of a novelty measure, smoothed over about ctxOrder
// points and recalibrated on two levels (tailRate). The novelty measures are mostly zero with
// rare bursts, and the two-level curve suits them better than the residual's ten levels
// (bench/nab/DECISIONS.md 14).
type noveltyChannel struct {
	s surprise
	t tailRate
}

func (e *noveltyChannel) observe(raw, longRate float64) float64 {
	out := e.t.correct(e.s.observe(raw, longRate, shortRate), longRate)
	if !e.s.trusted() {
		return 0
	}
	return out
}
