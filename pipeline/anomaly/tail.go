package anomaly

import "math"

// tailRate recalibrates a surprise against how often this series actually produces it.
// surprise.go's normal approximation is only a first guess: real residuals and novelty rates
// have heavier tails than a normal, more so on some series (bursty tweet volumes) than on
// others. tailRate counts how often the surprise reaches two reference levels, a shoulder
// (tailLow) and a tail (tailHigh), as EWMA rates λ over tailHorizon × Memory points, and maps
// a surprise s through the piecewise-linear curve through (0, 0), (tailLow, t_low) and
// (tailHigh, t_high), where t = min(level, −ln λ) is the surprise the level's observed
// frequency justifies (never more than nominal). Beyond tailHigh the curve keeps the slope of
// its upper segment: a series whose tail is heavier than normal gets a flatter curve.
//
// The effect is to put every series, and both models, on the same false-alarm scale, which is
// what lets one threshold (Config.AlarmScore, or NAB's single threshold) serve them all.
type tailRate struct {
	low, high float64 // EWMA of [surprise >= tailLow] and [surprise >= tailHigh]; 0: not started
}

const (
	// tailLow is the shoulder: nominally e^-3 ≈ 5% of points, frequent enough to be measured
	// within a few hundred points. It is the ten-level curve's second level (2 · 1.5), so that
	// every calibration's reference levels are on one ladder (bench/nab/DECISIONS.md 355).
	tailLow = curveFirst * curveRatio
	// tailHigh is in the tail: nominally 1 point in ~3000, seen a few times within Memory.
	tailHigh = 8
	// tailHorizon stretches the rates' horizon to tailHorizon × Memory, since tail events
	// are rare and the estimate needs many points.
	tailHorizon = 2
	// tailMinSlope keeps the curve increasing, so that larger raw surprises still rank higher.
	tailMinSlope = 0.1
)

// correct maps s through the recalibration curve and then updates the rates with s.
func (t *tailRate) correct(s, slow float64) float64 {
	if t.low == 0 {
		// Start from the claim that the calibration is right.
		t.low, t.high = math.Exp(-tailLow), math.Exp(-tailHigh)
	}
	yLow := math.Min(tailLow, -math.Log(t.low))
	yHigh := math.Min(tailHigh, -math.Log(t.high))
	var out float64
	if s <= tailLow {
		out = s * yLow / tailLow
	} else {
		out = yLow + (s-tailLow)*math.Max(tailMinSlope, (yHigh-yLow)/(tailHigh-tailLow))
	}
	r := slow / tailHorizon
	t.low += r * (indicator(s >= tailLow) - t.low)
	t.high += r * (indicator(s >= tailHigh) - t.high)
	return out
}
