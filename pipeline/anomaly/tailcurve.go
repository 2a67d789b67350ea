package anomaly

import "math"

// tailCurve recalibrates a surprise (−ln of a nominal tail probability) by how often this
// series actually reaches it. For geometric levels L of surprise (2, 3, 4.5, … 77 nats) it
// keeps the EWMA rate per point of events that reached L, and maps a surprise through the
// piecewise-linear curve through (0, 0) and (L, min(L, −ln rate_L)): a level reached more
// often than its nominal probability says is worth only what its observed frequency
// justifies, never more than nominal. The curve rises by at least tailMinSlope per nat so
// that larger surprises still rank higher, and beyond the last level keeps that slope; beyond
// the largest event it has seen (top) it rises at one nat per nat, since its evidence ends
// there (correct), or, on a settled series' residual curve, at the ratio its tail reached
// there (correctPast).
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
	// top is the largest surprise of an event so far: the curve's evidence ends there.
	top float64
}

const numLevels = 10

// curveFirst and curveRatio are the levels' geometry: curveFirst·curveRatio^k nats, geometric so
// that ten levels span the shoulder (2 nats, 1 point in 7) to the astronomically rare (77 nats).
const (
	curveFirst = 2
	curveRatio = 1.5
)

// curveLevels are the levels, 2, 3, 4.5, … 76.88671875 nats (each exact in a float64).
var curveLevels = func() (l [numLevels]float64) {
	x := float64(curveFirst)
	for k := range l {
		l[k] = x
		x *= curveRatio
	}
	return l
}()

// correct maps s through the curve. Beyond the largest event so far the curve knows nothing of
// the series' tail, and a surprise rises from there at the nominal calibration's one nat per nat:
// the series reached top at the rate the curve says, and went s − top nats further, which it has
// never done. Without this a curve flattened by one extreme event (a young series' first report)
// would score a later excursion far larger than it below that first one (bench/nab/DECISIONS.md 247).
func (c *tailCurve) correct(s float64) float64 { return c.correctPast(s, false) }

// correctPast is correct, or with own, beyond the largest event so far, a surprise rising at the
// ratio the curve reached at its top, at(top)/top, instead of one nat per nat: a series whose
// tail up to its largest event was heavier than nominal (bursts of news, of retries, of an
// incident's errors) is taken to stay as heavy beyond it, so that a burst a little past its
// largest is a little rarer, not the normal tail's hundreds of nats rarer. The ratio is 1 on a
// curve still at its nominal rates (a series whose tail is nominal rises as under correct) and
// never below tailMinSlope, so larger surprises still rank higher. The residual's curve takes it
// once the series has settled (detector.go; bench/nab/DECISIONS.md 488): in a young series one
// report lifts the upper levels to the rates' floor, which is no heavy tail measured, and 247's
// reason holds there.
func (c *tailCurve) correctPast(s float64, own bool) float64 {
	if c.surprise[0] == 0 {
		c.surprise = curveLevels // the nominal rates e^−L
	}
	y := c.at(s)
	if s > c.top {
		top := c.at(c.top)
		if own && c.top > 0 {
			y = max(y, top+max(tailMinSlope, top/c.top)*(s-c.top))
		} else {
			y = max(y, top+s-c.top) // in this order, correct's arithmetic to the bit since 247
		}
	}
	return y
}

// levelTop is the highest level the curve's rates say was reached (a rate above its nominal
// e^−L), 0 if none: a lower bound of top, for a curve saved before top was kept.
func (c *tailCurve) levelTop() float64 {
	var top float64
	for k, x := range curveLevels {
		if c.surprise[k] != 0 && c.surprise[k] < x {
			top = x
		}
	}
	return top
}

// at maps s through the piecewise-linear curve.
func (c *tailCurve) at(s float64) float64 {
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
	if event && s > c.top {
		c.top = s
	}
	for k, x := range curveLevels {
		if event && s >= x {
			// rate ← rate·(1−r) + r
			c.surprise[k] = -math.Log(math.Exp(-c.surprise[k])*(1-r) + r)
		} else {
			c.surprise[k] += decay // rate ← rate·(1−r)
		}
	}
}
