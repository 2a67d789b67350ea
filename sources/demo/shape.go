package demo

import (
	"math"
	"time"
)

// shape is the traffic's script over one compressed day. Every feature is there so an operator
// has something real to find: daily seasonality for the anomaly detector's baseline, and three
// anomalies it must flag, each on the series an operator would look at: a deploy that doubles
// the 5xx rate for good (a level shift of the 5xx-by-tenant rule's Sum), one tenant whose
// errors burst (its own per-contributor series), and spikes of traffic (the stream's Records).
//
// The first of each comes after the detector's warm-up (10 windows: 100 s with `make run`'s
// 10-second windows and 10-minute day), so that `make run` shows all three within four
// minutes: the shift at 2:00, the burst at 2:42, a spike at 3:18, then a spike every 2:18 and
// a burst every 3:42. They are on different series because the detector reports a second
// excursion of a series within its quiet horizon only if it scores higher than the first.
type shape struct {
	day time.Duration
}

// The scripted events, as fractions of the day since the demo started.
const (
	spikeFirst  = 0.33  // the first spike
	spikeEvery  = 0.23  // then one this often
	spikeLen    = 0.012 // ~7s of a 10m day: about three times a 10-second window's traffic
	spikeFactor = 4.0

	shiftAt     = 0.20 // from here on, twice the 5xx rate (a bad deploy)
	shiftFactor = 2.0

	burstFirst   = 0.27 // the noisy tenant's first error burst
	burstEvery   = 0.37 // then one this often
	burstLen     = 0.02
	burstTenant  = 3 // tenant t-0003: a top-5 source of 5xx, so it has a contributor series before its burst
	burstErrRate = 0.6
	baseErrRate  = 0.01
)

// dayAmplitude is the day's swing around the mean rate. A 10-minute day at ±50% changes the
// traffic by up to 5% from one 10-second window to the next: a clear daily shape that still
// leaves a doubling of traffic well outside the expected band.
const dayAmplitude = 0.5

// startPhase starts the demo mid-morning, where the rate is the configured mean, rather than in
// the night-time trough.
const startPhase = 0.25

// elapsed is how many days have passed since the demo started.
func (s shape) elapsed(since time.Duration) float64 { return float64(since) / float64(s.day) }

// phase is how far into the (compressed) day since is, in [0, 1).
func (s shape) phase(since time.Duration) float64 {
	f := s.elapsed(since) + startPhase
	return f - math.Floor(f)
}

// scripted reports whether a recurring event of length length, first at first and then every
// every (fractions of a day since the start), is under way at since.
func (s shape) scripted(since time.Duration, first, every, length float64) bool {
	e := s.elapsed(since) - first
	return e >= 0 && math.Mod(e, every) < length
}

// rateFactor multiplies the mean rate at a point of the day: a sinusoidal day (trough at
// phase 0, peak at 0.5, 0.5× to 1.5×) and spikes.
func (s shape) rateFactor(since time.Duration) float64 {
	f := 1 - dayAmplitude*math.Cos(2*math.Pi*s.phase(since))
	if s.scripted(since, spikeFirst, spikeEvery, spikeLen) {
		f *= spikeFactor
	}
	return f
}

// errorRate is the probability of a 5xx for a tenant at a point of the day.
func (s shape) errorRate(since time.Duration, tenant int) float64 {
	if tenant == burstTenant && s.scripted(since, burstFirst, burstEvery, burstLen) {
		return burstErrRate
	}
	if s.elapsed(since) >= shiftAt {
		return shiftFactor * baseErrRate
	}
	return baseErrRate
}
