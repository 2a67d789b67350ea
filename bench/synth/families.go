package main

import (
	"math"
	"math/rand/v2"
	"time"
)

// step is the sampling interval: one point per 5-minute window. The detector's defaults are
// stated in it (Memory 6000 is three weeks, Quiet 75 six hours), the behaviour tests and most
// of NAB use it, and it is the window a team picks for per-tenant error counts, which at one
// minute are mostly zeros. A week is 2016 points, so four weeks cost 8064 points a series.
const step = 5 * time.Minute

// t0 is the first point's time: a Monday at 00:00 UTC, so that weekdays and weekends fall where
// the detector's clock expects them.
var t0 = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

const (
	pointsPerDay  = int(24 * time.Hour / step)
	pointsPerWeek = 7 * pointsPerDay
)

// load is the traffic shape a user-facing service follows, in [0.21, 1]: a daily sinusoid
// from a trough at 04:00 UTC to a peak at 16:00 (about 3:1, a region's day against its night),
// and weekends at 60% of weekdays. The families that follow traffic scale with it.
func load(i int) float64 {
	h := float64(i%pointsPerDay) / float64(pointsPerDay) * 24
	s := 0.35 + 0.65*(0.5+0.5*math.Sin(2*math.Pi*(h-10)/24))
	if day := i / pointsPerDay % 7; day >= 5 { // t0 is a Monday: days 5 and 6 are the weekend
		s *= 0.6
	}
	return s
}

// dayMeanLoad is load's mean over the day of point i: the level a day without its cycle sits at.
func dayMeanLoad(i int) float64 {
	s := 0.35 + 0.65*0.5
	if day := i / pointsPerDay % 7; day >= 5 {
		s *= 0.6
	}
	return s
}

// family is one kind of series a platform team watches per window.
type family struct {
	name string
	// count says the analyzer judges the series as a count (anomaly.count_metrics: Records, a
	// Count rule's SampleCount and contributors), so it is also run through ObserveCount.
	count bool
	// cycle says the series follows load; a missed daily cycle applies only then.
	cycle bool
	// level is the clean expected value at load s.
	level func(s float64) float64
	// scale is the unit the scripted anomalies are sized in (anomaly.go): the series' ordinary
	// noise at level m, or a stated amount where that noise says nothing of a change users
	// mean (lag near zero, a constant).
	scale func(m float64) float64
	// shift returns level m moved by k scales (k < 0 down); nil is m + k·scale(m).
	shift func(m, k float64) float64
	// source returns a draw of one point around level m; it may keep state (a wander, a
	// backlog), so each series gets its own.
	source func(r *rand.Rand) func(m float64) float64
	// clamp keeps a value, clean or scripted, in the family's domain.
	clamp func(v float64) float64
	// skip lists the anomaly kinds that mean nothing on this family, with the reason.
	skip map[kind]string
	// changeSkip lists the regime changes of a mature series (mature.go) that mean nothing on
	// this family, with the reason.
	changeSkip map[change]string
}

// shifted is level m moved by k scales.
func (f *family) shifted(m, k float64) float64 {
	if f.shift == nil {
		return m + k*f.scale(m)
	}
	return f.shift(m, k)
}

func wholeNonNegative(v float64) float64 { return math.Max(0, math.Round(v)) }

func identity(v float64) float64 { return v }

// families are the six the yardstick covers. Their parameters are plain figures for such a
// series, not fitted to anything.
var families = []family{
	{
		// Records per window of a stream: 20,000 at the daily peak (~67 a second). Traffic from
		// many clients is near Poisson, but windows vary by a few percent more (batching
		// producers, retries): a gamma-distributed rate with a 5% coefficient of variation.
		name: "records", count: true, cycle: true,
		level: func(s float64) float64 { return 20000 * s },
		scale: func(m float64) float64 { return math.Sqrt(m + 0.05*0.05*m*m) },
		source: func(r *rand.Rand) func(float64) float64 {
			return func(m float64) float64 { return poisson(r, m*gamma(r, 400)/400) }
		},
		clamp: wholeNonNegative,
	},
	{
		// Errors per window of one tenant: a mean of 2 at the peak, following traffic, and
		// bursty (a bad client retrying): a negative binomial with shape 0.5, whose variance is
		// m + 2m².
		name: "errors", count: true, cycle: true,
		level: func(s float64) float64 { return 2 * s },
		scale: func(m float64) float64 { return math.Sqrt(m + 2*m*m) },
		source: func(r *rand.Rand) func(float64) float64 {
			return func(m float64) float64 { return poisson(r, m*gamma(r, 0.5)/0.5) }
		},
		clamp: wholeNonNegative,
		skip: map[kind]string{
			shiftDown: "5 scales below a mean of 2 errors is zero: the drop row",
		},
	},
	{
		// A p99 latency in ms: 133 on a weekend night to 180 at the peak, log-normal (positive,
		// skewed) with a log-deviation that grows with load from 0.06 to 0.2 (heteroscedastic:
		// a busy service's tail is noisier). Shifts move it in log terms so that it stays
		// positive.
		name: "latency", cycle: true,
		level: func(s float64) float64 { return 120 * (1 + 0.5*s) },
		scale: func(m float64) float64 { return m * latencySigma(m) },
		shift: func(m, k float64) float64 { return m * math.Exp(k*latencySigma(m)) },
		source: func(r *rand.Rand) func(float64) float64 {
			return func(m float64) float64 { return m * math.Exp(latencySigma(m)*r.NormFloat64()) }
		},
		clamp: identity,
	},
	{
		// CPU utilisation in percent: 25 + 35 × load, a slow AR(1) wander (φ = 0.995, a
		// half-life of ~11 hours, stationary deviation 5 points: deploys, cache warmth) and
		// per-window noise of 2 points; bounded to [0, 100].
		name: "cpu", cycle: true,
		level: func(s float64) float64 { return 25 + 35*s },
		scale: func(float64) float64 { return 2 },
		source: func(r *rand.Rand) func(float64) float64 {
			w := 5 * r.NormFloat64()
			return func(m float64) float64 {
				w = 0.995*w + 0.5*r.NormFloat64()
				return m + w + 2*r.NormFloat64()
			}
		},
		clamp: func(v float64) float64 { return math.Min(100, math.Max(0, v)) },
		changeSkip: map[change]string{
			busier: "doubled utilisation passes 100% at the daily peak: a saturated host, not a regime it can hold",
		},
	},
	{
		// Consumer lag in records: about 5 in flight, and twice a day on average a backlog
		// (exponential, mean 3,000) that drains by 30% a window (half-life 10 minutes). Its
		// scale is 1,000 records, a third of a typical backlog: the noise near zero (±2) is no
		// measure of what a user calls a change of lag.
		name:  "lag",
		level: func(float64) float64 { return 5 },
		scale: func(float64) float64 { return 1000 },
		source: func(r *rand.Rand) func(float64) float64 {
			var b float64
			return func(m float64) float64 {
				b *= 0.7
				if r.Float64() < 1.0/144 {
					b += 3000 * r.ExpFloat64()
				}
				return poisson(r, m) + math.Round(b)
			}
		},
		clamp: wholeNonNegative,
		skip: map[kind]string{
			shiftDown: "lag is already near zero",
			dropZero:  "lag is already near zero",
		},
	},
	{
		// A setting reported every window (a configured replica count): 16, exactly. Its
		// scale is one unit of the setting.
		name:  "setting",
		level: func(float64) float64 { return 16 },
		scale: func(float64) float64 { return 1 },
		source: func(*rand.Rand) func(float64) float64 {
			return func(m float64) float64 { return m }
		},
		clamp: identity,
		skip: map[kind]string{
			stuck:      "a constant is always stuck",
			variance:   "a constant has no variance to scale: noise on it is new, counted as a shift or spike",
			smallShift: "a constant's every change is plain: the shift rows",
			held3:      "a constant's every change is plain: the shift and spike rows",
			held15:     "a constant's every change is plain: the shift and spike rows",
			first3:     "a constant's every change is plain: the spike row",
			first15:    "a constant's every change is plain: the spike row",
			flapping:   "a constant has no band to leave: any excursion on it is new, the spike row",
		},
		changeSkip: map[change]string{
			burstier: "a constant has no noise to widen",
		},
	},
}

// latencySigma is the latency family's log-deviation at level m: 0.02 + 0.18 × the load the
// level stands for, capped at 0.2 (a level shifted above the peak is as noisy as the peak).
func latencySigma(m float64) float64 {
	s := (m/120 - 1) / 0.5 // back to load
	return 0.02 + 0.18*math.Min(1, math.Max(0, s))
}
