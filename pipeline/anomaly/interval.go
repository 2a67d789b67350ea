package anomaly

import "math"

// The forecaster's plain level is an EWMA per point: it forecasts over about minEvidence
// points, and says nothing about how much time those points span. A series that stops reporting
// for a while (an exporter down, a sensor that sleeps at night) resumes at a point its level
// knows nothing about, while a daily cycle moved the series on. To tell such a gap from the
// series' ordinary spacing, the forecaster learns the series' usual interval between points, in
// its own timestamps, as it learns its level:
//
//   - an EWMA of the spacing at estimateRate, a running mean over the first minEvidence
//     spacings (rate), so that it needs no configured sampling interval;
//   - each spacing clipped to minEvidence usual intervals, as the level clips what one point
//     teaches: one day's silence teaches at most one horizon, so it does not make the next
//     gap look usual, while a series whose interval really changes (5 minutes to an hour) is
//     followed within a few points;
//   - a spacing that goes back in time (timestamps out of order) counts as 0.
//
// Timestamps are taken in whole seconds: a series sampled faster than once a second has spacings
// of 0 and never has a gap.

// spacing folds the point at now (Unix seconds) into the usual interval and returns the spacing
// since the previous point in usual intervals, measured against the interval known before this
// point: 0 for the first point timed and while no interval is known (every timestamp so far
// equal).
func (f *forecast) spacing(now int64) float64 {
	f.timed++
	if f.timed == 1 {
		f.last = now
		return 0
	}
	dt := math.Max(float64(now-f.last), 0)
	f.last = now
	k := 0.0
	if f.step > 0 {
		k = dt / f.step
	}
	lim := minEvidence * f.step
	if f.timed <= minEvidence+1 || f.step == 0 {
		lim = math.Inf(1) // fewer than minEvidence spacings, or none yet: a running mean
	}
	f.step += rate(estimateRate, f.timed-1) * (math.Min(dt, lim) - f.step)
	return k
}
