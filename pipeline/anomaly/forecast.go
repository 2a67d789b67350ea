package anomaly

import (
	"math"
	"time"
)

// The forecaster predicts the next value with two small models and uses whichever has been
// more accurate lately (tracked error, not a per-series switch):
//
//   - plain: a robust EWMA level — the right model for series without a time-of-day shape,
//     and the one that reacts first after a level shift;
//   - seasonal: a slow baseline plus a time-of-day profile, one for weekdays and one for
//     weekends, i.e. additive Holt-Winters whose season is indexed by the clock instead of by
//     a period in points. Indexing by the clock keeps the state fixed (2×48 numbers) whatever
//     the sampling interval, and gives daily and weekly seasonality without knowing the period.
//
// Around the prediction it keeps a Brutlag-style deviation (EWMA of |residual|), which gives
// the band and the standardised residual the scorer works on.

const (
	todBins = 48 // half-hour slots: resolves the sharp edges of business-hours patterns

	// estimateRate is the learning rate of the plain level (per point) and of a time-of-day
	// slot (per visit): an EWMA over about the minEvidence observations an estimate needs, so
	// the expected value follows a real change within a few points while a single spike moves
	// it little (and residuals are clipped below, so not at all beyond clipZ deviations), and a
	// slot, visited once a day per point in it, is reliable after about as many days (or hours
	// at 5-minute sampling). One horizon for both (bench/nab/DECISIONS.md 279).
	estimateRate = 1.0 / minEvidence
	// devRate sets the deviation's horizon (~50 points): slow enough that a change of variance
	// shows up as large residuals, each scored on its own point (surprise.go), for tens of points
	// before it is absorbed.
	devRate = 0.02
	// clipZ bounds how far one point can move the level and the deviation (Huber-style
	// robustness): a spike is scored, not learned.
	clipZ = 4
	// bandZ is the half-width of the reported band in deviations (Brutlag uses 2 to 3).
	bandZ = 3
)

type forecast struct {
	n int64 // points observed

	level float64 // plain model

	base    float64             // seasonal model: slow baseline
	profile [2][todBins]float64 // time-of-day profile relative to base: [weekday, weekend]
	visited [2]uint64           // bit s set once slot s of the profile has a value

	errPlain float64 // EWMA |error| of each model, for model selection
	errSeas  float64

	dev float64 // EWMA |residual| of the chosen model

	// The usual interval (interval.go): points timed (equal to n, except after restoring a
	// snapshot written before it was kept), the previous one's time and the EWMA spacing.
	timed int64
	last  int64   // Unix seconds
	step  float64 // seconds
}

// slots returns the profile (0 weekday, 1 weekend) and time-of-day slot of t in UTC.
func slots(t time.Time) (int, int) { return slotsAt(t.Unix()) }

// slotsAt returns the profile and time-of-day slot of a wall clock given as seconds since its
// 1970-01-01 00:00 (Unix seconds in UTC; shifted by the offset in a zone: slotsIn). It works on
// seconds rather than calendar fields: this runs on every point, and the calendar conversion
// costs more than the rest of the forecaster.
func slotsAt(sec int64) (int, int) {
	day := sec / 86400
	if sec%86400 < 0 {
		day-- // floor division for instants before 1970
	}
	sod := int(sec - day*86400)
	week := 0
	// 1970-01-01 was a Thursday: day+4 ≡ weekday (mod 7), with Sunday = 0.
	if wd := ((day+4)%7 + 7) % 7; wd == 0 || wd == 6 {
		week = 1
	}
	return week, sod * todBins / 86400
}

// predict returns the expected value for a point in slot (w, s) and whether the seasonal
// model is the one in use.
func (f *forecast) predict(w, s int) (float64, bool) {
	if f.n == 0 {
		return 0, false
	}
	if f.errSeas < f.errPlain {
		return f.seasonal(w, s), true
	}
	return f.level, false
}

// seasonal returns the seasonal model's prediction for slot (w, s). A weekend slot never
// visited yet borrows the weekday one: the best guess until a weekend has been seen. A slot
// never visited at all has no profile yet, and the best guess is the plain level: the
// baseline alone would be off by the whole time-of-day swing at every new half hour of a
// young series' first day.
func (f *forecast) seasonal(w, s int) float64 {
	if f.visited[w]&(1<<s) == 0 {
		if f.visited[0]&(1<<s) == 0 {
			return f.level
		}
		w = 0
	}
	return f.base + f.profile[w][s]
}

// observe folds v, at now (Unix seconds), in and returns the standardised residual
// |v−expected|/dev computed before the update, plus the expected value and the deviation it
// used.
//
// After a gap in reporting, more than minEvidence usual intervals without a point (interval.go),
// the plain level's forecast is older than its horizon (an EWMA over about minEvidence points)
// and is no forecast: a daily cycle, or the series' wander, moved the series on while it did not
// report. So the point is not scored against it as if no time had passed:
//
//   - when the plain level is the model in use, the seasonal model judges the point, in its own
//     unit, the larger of dev and its tracked error (dev is then the plain model's error, and the
//     profile's ordinary miss is not a spike); it is indexed by the clock, the one forecast that
//     knows how much time passed. A slot never visited (a young or sparse series) has no profile,
//     and the point is judged against the plain level in that level's k-step spread (below): what
//     the level still knows after k intervals is a forecast whose variance grew, not none, and a
//     burst on the first point back (a tenant listed again because it bursts) is still news;
//   - the plain model's tracked error does not learn a forecast it did not make;
//   - the level moves toward the point by the gain of the local-level model the EWMA is the
//     steady-state filter of: at rate α its predicted variance, in units of the noise, is
//     α/(1−α) and the level moves by α²/(1−α) a point, so after k intervals the variance is
//     p = α(1 + (k−1)α)/(1−α) and the gain p/(p+1) (α at k = 1; about 0.27 after 24 intervals,
//     0.77 after 288), its innovation clipped at clipZ of that forecast's spread,
//     dev·√(1 + (k−1)α²). A full re-seed would take one noisy point as the level, and on a series
//     that reports with gaps every few dozen points the level would be that noise again and
//     again (bench/nab/DECISIONS.md 336, 337, 342).
func (f *forecast) observe(v float64, w, s int, baseRate float64, now int64) (z, expected, dev float64) {
	expected, seasonal := f.predict(w, s)
	f.n++
	k, gap := f.gap(now)
	if f.n == 1 {
		f.level, f.base = v, v
		return 0, v, 0
	}
	dev = f.devFloor()
	seas := f.seasonal(w, s)
	// Model errors and updates use innovations clipped at clipZ deviations, so one spike cannot
	// flip the choice of model nor move the level much.
	lim := clipZ * dev
	if f.n <= minEvidence {
		lim = math.Inf(1) // no deviation estimate yet (minEvidence): learn everything
	}
	const a = estimateRate
	spread := 1.0 // the level's forecast spread after the gap, in its one-step unit: √(1 + (k−1)α²)
	if gap {
		spread = math.Sqrt(1 + (k-1)*a*a)
	}
	if gap && !seasonal {
		if f.visited[w]&(1<<s) != 0 || f.visited[0]&(1<<s) != 0 {
			expected, dev = seas, math.Max(dev, f.errSeas)
		} else {
			// A spacing of up to 2^64 one-second intervals widens it by up to 4e8, beyond the
			// factor of 10^8 maxValue leaves a deviation of values near it: bounded, so that
			// the band stays finite (TestGapAfterHugeValuesKeepsAFiniteBand).
			dev = math.Min(dev*spread, maxState)
		}
	}
	r := v - expected
	z = math.Abs(r) / dev

	er := rate(baseRate, f.n)
	gain, innov := rate(estimateRate, f.n), lim
	if gap {
		p := a * (1 + (k-1)*a) / (1 - a)
		gain, innov = p/(p+1), lim*spread
	} else {
		f.errPlain += er * (math.Min(math.Abs(v-f.level), lim) - f.errPlain)
	}
	f.errSeas += er * (math.Min(math.Abs(v-seas), lim) - f.errSeas)
	// The deviation and the tracked errors average over n points, though the first only seeds the
	// level and has no residual: it counts as a residual of 0, so the first warm band is 9/10 of
	// the mean |residual|. Averaging over the n − 1 residuals instead lost 1.46 on D (bench/nab/
	// DECISIONS.md 413, round 84); the weight stays as it is.
	f.dev += rate(devRate, f.n) * (math.Min(math.Abs(r), lim) - f.dev)

	f.level += gain * clip(v-f.level, innov)
	f.base += rate(baseRate, f.n) * clip(v-seas, lim)
	if f.visited[w]&(1<<s) == 0 {
		// First visit: start the slot from what is known (the weekday slot or this point)
		// instead of from 0, so that a slot is useful after its first day.
		f.profile[w][s] = seas - f.base
		if f.visited[0]&(1<<s) == 0 {
			f.profile[w][s] = v - f.base
		}
		f.visited[w] |= 1 << s
	}
	f.profile[w][s] += estimateRate * clip(v-f.base-f.profile[w][s], lim)
	return z, expected, dev
}

// devFloor returns the deviation, kept away from zero so that a constant series does not turn
// its first change into an infinite residual (and so that z stays finite).
func (f *forecast) devFloor() float64 {
	floor := 1e-3*math.Abs(f.level) + 1e-9
	return math.Max(f.dev, floor)
}

func clip(x, lim float64) float64 {
	if x > lim {
		return lim
	}
	if x < -lim {
		return -lim
	}
	return x
}
