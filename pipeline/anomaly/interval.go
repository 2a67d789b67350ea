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
//   - a spacing that goes back in time (timestamps out of order) counts as 0, and the next point
//     is spaced from the latest one, not from the late one.
//
// Timestamps are taken in whole seconds, and the interval is never taken below one second: a
// series sampled faster than that has a gap only after more than minEvidence seconds of silence.

// gap folds the point at now (Unix seconds) into the usual interval and reports whether it comes
// after a gap, more than minEvidence usual intervals since the previous point, with that spacing
// in usual intervals, k, both measured against the interval known before this point. The first
// point timed, and every point while no interval is known (every timestamp so far equal), is no
// gap. It runs on every point: the divisions are left to the points that need them.
func (f *forecast) gap(now int64) (k float64, gap bool) {
	f.timed++
	if f.timed == 1 {
		f.last = now
		return 0, false
	}
	// A point that goes back in time spaces 0 from the latest one, and the latest stays the one
	// the next point is spaced from: one late point must not make the next on-time one a gap.
	// The difference is taken in float64: two instants time.Time holds can be further apart
	// than an int64 of seconds, and now−last would wrap around to a negative spacing. Within
	// ±2^52 seconds of 1970 (142 million years) the conversions and the difference are exact.
	var dt float64
	if now > f.last {
		dt = float64(now) - float64(f.last)
		f.last = now
	}
	// Timestamps are whole seconds, so an interval below one second is known only as "under a
	// second": measured against the interval itself, a series sampled several times a second
	// (mostly spacings of 0, clipped ticks of 1) would drive it toward 0 and call every tick a
	// gap of ever more intervals, until the level's gain overflowed to NaN.
	step := math.Max(f.step, 1)
	gap = f.step > 0 && dt > minEvidence*step
	if gap {
		k = dt / step
	}
	// A running mean over the first minEvidence spacings (rate), then the EWMA of the spacing
	// clipped to one horizon.
	r, lim := estimateRate, minEvidence*step
	if n := f.timed - 1; n <= minEvidence {
		r, lim = 1/float64(n), math.Inf(1)
	} else if f.step == 0 {
		lim = math.Inf(1)
	}
	f.step += r * (math.Min(dt, lim) - f.step)
	return k, gap
}
