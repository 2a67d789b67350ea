package anomaly

import "math"

// A young series has no daily profile: before a half-hour slot has been seen on a second day,
// the forecaster's seasonal model holds only the same day's first values of each slot, and its
// plain level is an EWMA that lags a ramp by about 1/estimateRate − 1 slopes. So a new series'
// first ordinary morning rise, which it will repeat every morning, lands several deviations
// from the forecast and alarms: the first impression weir makes on a user who adds a metric
// (bench/nab/DECISIONS.md, rounds 67 and 69). Nor is it over after day one: a slot is an EWMA
// over minEvidence visits started from one point, the weekend's slots borrow the weekdays' until
// a weekend is seen, and until then the profile misses, and the plain level lags, the days'
// rises and falls (round 73).
//
// What a series learns while young carries past it (round 67: each form that changed the
// forecast or the unit on day one moved the calibration, and a stop 2,000 points later was
// flagged late). So youth's remedy changes only what a point reports: every piece of state the
// detector keeps learns exactly what it would without it, and only the reported score of a
// young point may be lower. Beside the forecaster, for the series' first week only, a local
// linear trend (Holt's, undamped: on a ramp its steady-state lag is 0) forecasts the point; the
// residual channel's calibration, read and not updated, scores the residual against it, and the
// point reports the smaller of the two scores. A ramp is smooth and the trend follows it; a
// spike is far from both forecasts and keeps its score. A stall owed its page is no residual's
// to lower: the young score keeps its owed report (detector.go, decision 484).

// dayOne is a day in seconds: until a series' points timed times its usual interval reach it, no
// half-hour slot can have been revisited a day later at that spacing.
const dayOne = 86400

// youngSpan is how long, in seconds, a series is young: a week, the weekday/weekend profile's
// first full cycle. Before it the weekend profile has never been visited (its slots borrow the
// weekday's), and at 5 minutes a slot has had at most 42 visits, about four horizons of its
// EWMA (estimateRate) started from one point (bench/nab/DECISIONS.md 390).
const youngSpan = 7 * dayOne

// youngTrend is the young series' local linear trend. Its numbers feed nothing but the reported
// score of a young point, and are zero once the series is no longer young.
type youngTrend struct {
	level float64
	trend float64 // per point
	over  bool    // the series is no longer young: the trend is no longer kept
}

// young reports whether f's series is still young, by its usual interval (at least one second,
// as the interval itself is taken): its points timed times the interval under youngSpan. A
// series restored from a snapshot written before the interval was kept (version 12 and older)
// has timed fewer points than it learned, counted from the restore: its time cannot tell its
// age, and it is not young (by its points it may be weeks old, and counted from the restore a
// three-day-old series reported a day of lower scores: TestOldSeriesIsNotYoungAfterRestore).
// For every other series timed is n.
func (f *forecast) young() bool {
	return f.timed == f.n && float64(f.timed)*math.Max(f.step, 1) < youngSpan
}

// observe folds v in and returns the trend's forecast of it, made before the update. n is the
// forecaster's count of points including v and dev the deviation the forecaster used for it:
// the innovation is clipped at clipZ deviations, as the level's is, except over the first
// minEvidence points (no deviation yet: learn everything).
func (y *youngTrend) observe(v, dev float64, n int64) float64 {
	if n == 1 {
		y.level, y.trend = v, 0
		return v
	}
	f := y.level + y.trend
	lim := clipZ * dev
	if n <= minEvidence {
		lim = math.Inf(1)
	}
	// Holt's linear trend in error-correction form: the level gains estimateRate of the
	// innovation (the plain level's horizon), the trend estimateRate² (the level's increments
	// averaged over the same horizon: decision 279's one horizon).
	e := clip(v-f, lim)
	// Held within the snapshot's bound (maxState): undamped, with its innovations clipped, the
	// trend can be pumped far past the values it follows (to 4e304 by a square wave of ±1e300 at
	// one point a second, within its first day), and a level and slope restored at the bound
	// forecast twice it. No state a series of ordinary values reaches comes near it.
	y.level = clip(f+estimateRate*e, maxState)
	y.trend = clip(y.trend+estimateRate*estimateRate*e, maxState)
	return f
}

// end drops the trend once the series is no longer young.
func (y *youngTrend) end() { *y = youngTrend{over: true} }

// youngFrom sets the trend of a detector restored from a snapshot that did not keep it (version
// 13 and older): over if the series is no longer young (or has seen no point), else started from
// the plain level with no slope, as the trend of a series whose first point had that value. Only
// the reports of the rest of its first week depend on it. (A version-14 snapshot written before
// round 73 by a series past its first day has the trend over, and that series reports main's
// scores for the rest of its week: an over trend is not restarted, since a series whose usual
// interval falls may be young again by the product and must not start one.)
func (d *Detector) youngFrom() {
	if d.fc.n == 0 {
		return
	}
	if !d.fc.young() {
		d.young = youngTrend{over: true}
		return
	}
	d.young = youngTrend{level: d.fc.level}
}
