package anomaly

import "math"

// tailCurve recalibrates a surprise (−ln of a nominal tail probability) by how often this
// series actually reaches it. For geometric levels L of surprise (2, 3, 4.5, … 77 nats) it
// keeps the EWMA rate per point of events that reached L, and maps a surprise through the
// piecewise-linear curve through (0, 0) and (L, min(L, −ln rate_L)): a level reached more
// often than its nominal probability says is worth only what its observed frequency
// justifies, never more than nominal. The curve rises by at least tailMinSlope per nat so
// that larger surprises still rank higher, and beyond the last level keeps that slope.
//
// It serves twice: on the residual channel, where every point is an event (the residuals'
// real tail, which is heavier than the normal approximation on most series), and on the
// combined score, where an event is a report (peaks.go), so that at any score the rate of
// reports, not of points, is about the same on every series (a bursty series reports one
// excursion per burst, not one per point, and needs its own correction for that).
//
// The rates start at the nominal e^−L (the calibration is assumed right until shown wrong)
// and move at the rate the caller gives, slow because tail events are rare.
type tailCurve struct {
	// surprise[k] is −ln of the EWMA rate per point of events that reached level k, kept as
	// a logarithm so that neither mapping a surprise nor decaying the rates takes a logarithm
	// per level and point; 0: not started (a rate of 1 is never the start).
	surprise [numLevels]float64
}

const numLevels = 10

// curveLevels are the levels: 2·1.5^k nats, geometric so that ten levels span the shoulder
// (2 nats, 1 point in 7) to the astronomically rare (77 nats).
var curveLevels = [numLevels]float64{2, 3, 4.5, 6.75, 10.125, 15.1875, 22.78125, 34.171875, 51.2578125, 76.88671875}

// correct maps s through the curve.
func (c *tailCurve) correct(s float64) float64 {
	if c.surprise[0] == 0 {
		c.surprise = curveLevels // the nominal rates e^−L
	}
	px, py := 0.0, 0.0
	for k, x := range curveLevels {
		y := max(py+tailMinSlope*(x-px), min(x, c.surprise[k]))
		if s <= x {
			return py + (s-px)*(y-py)/(x-px)
		}
		px, py = x, y
	}
	return py + (s-px)*tailMinSlope
}

// observe records a point whose surprise was s; event says whether it counts (a report, for
// the combined score; every point, for a channel). r is the EWMA rate and decay is −ln(1−r),
// which the caller computes once for all its curves.
func (c *tailCurve) observe(s float64, event bool, r, decay float64) {
	for k, x := range curveLevels {
		if event && s >= x {
			// rate ← rate·(1−r) + r
			c.surprise[k] = -math.Log(math.Exp(-c.surprise[k])*(1-r) + r)
		} else {
			c.surprise[k] += decay // rate ← rate·(1−r)
		}
	}
}
