package main

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
)

// smallCount is a new tenant's count of something rare per window (its errors, its 5xx
// responses, its failed logins): the series a user adds most, through ObserveCount (the analyzer
// does so for anomaly.count_metrics with Unit Count and a Count rule's contributors). Unlike the
// errors family, a negative binomial of shape 0.5 whose bursts are its own, these are Poisson:
// independent events at a small mean, mostly zeros and ones, the law ObserveCount's bound and
// the stops channel's price assume (bench/nab/DECISIONS.md, rounds 87, 88 and 90, measured such
// counts' first weeks with one-off probes). They are measured young, over their first two weeks,
// where such a series is added and judged (round 96).
type smallCount struct {
	name string
	// mean is the Poisson mean at point i.
	mean func(i int) float64
	// noStop is why an hour of zeros is no stop a user means on this series, "" where it is one.
	noStop string
}

func flatMean(m float64) func(int) float64 { return func(int) float64 { return m } }

// smallCounts are the means measured: rounds 88 and 90's 0.1, 0.5, 1 and 3, and one that follows
// the day, 3 × load (3 at the weekday peak, 0.63 on a weekend night), as a tenant's errors follow
// its traffic.
var smallCounts = []smallCount{
	{name: "poisson 0.1", mean: flatMean(0.1), noStop: "an hour of zeros has chance e^-1.2 (0.30): the series' ordinary"},
	{name: "poisson 0.5", mean: flatMean(0.5), noStop: "an hour of zeros has chance e^-6: a run of 12 zeros starts about twice a week"},
	// A run of 12 zeros starts about once in 2.5 years at mean 1, about once a year on the daily
	// series (on weekend nights, mean 0.63), never at mean 3 (e^-36): a stop is news on these.
	{name: "poisson 1", mean: flatMean(1)},
	{name: "poisson 3", mean: flatMean(3)},
	{name: "poisson 3 daily", mean: func(i int) float64 { return 3 * load(i) }},
}

// smallKind is an anomaly scripted into a small count, sized in its Poisson standard deviation √m
// at the point's mean m and rounded up to a count.
type smallKind int

const (
	smallClean smallKind = iota // no anomaly: the false-alarm series
	smallBurst                  // the count at m + 6√m, held for an hour: a client failing every request
	smallStop                   // zeros for an hour: the events stopped (a broken exporter, a lost route)
	smallSpike                  // one window at m + 10√m: the spike row's 10 scales
)

var smallKindNames = [...]string{"clean", "burst 1h", "stop 1h", "spike"}

func (k smallKind) String() string { return smallKindNames[k] }

// smallKinds are the small counts' anomalies, in the table's order.
var smallKinds = []smallKind{smallBurst, smallStop, smallSpike}

// heldPoints is how long a burst or a stop holds: an hour.
const heldPoints = 12

// delay is how many points after the onset an alarm still counts as flagging k: a burst or a stop
// within its hour (as a held bump, within itself; the series ends there), a spike on its window.
func (k smallKind) delay() int {
	if k == smallSpike {
		return 0
	}
	return heldPoints - 1
}

// applies says whether kind k means something on small count s, and if not why.
func (s *smallCount) applies(k smallKind) (bool, string) {
	if k == smallStop && s.noStop != "" {
		return false, s.noStop
	}
	return true, ""
}

// youngSeriesPoints is a small count's length: its first two weeks, the first to learn in and the
// second to compare it with.
const youngSeriesPoints = 2 * pointsPerWeek

// youngOnset is where seed's small-count anomalies start: uniform from the series' second day to
// its last hour, drawn apart from the series' noise. Not on day one: there the detector has no
// ordinary for the series yet, and the day's false alarms are reported apart.
func youngOnset(seed uint64) int {
	r := rand.New(rand.NewPCG(seed, 0x5ca11))
	return pointsPerDay + r.IntN(youngSeriesPoints-heldPoints-pointsPerDay+1)
}

// burstCount and spikeCount are the counts a burst holds and a spike reaches at mean m.
func burstCount(m float64) float64 { return math.Ceil(m + 6*math.Sqrt(m)) }
func spikeCount(m float64) float64 { return math.Ceil(m + 10*math.Sqrt(m)) }

// generateSmall returns small count s's series for seed with anomaly k from at on (ignored for
// smallClean), n points long. Every point's draw is made, in the same order for every kind, from a
// stream keyed by the series' name and the seed, so every kind's series is the clean one before at.
func generateSmall(s *smallCount, k smallKind, seed uint64, at, n int) []float64 {
	h := fnv.New64a()
	h.Write([]byte(s.name))
	r := rand.New(rand.NewPCG(seed, h.Sum64()))
	xs := make([]float64, n)
	for i := range xs {
		m := s.mean(i)
		x := poisson(r, m)
		switch {
		case k == smallClean || i < at:
		case k == smallBurst && i < at+heldPoints:
			x = burstCount(m)
		case k == smallStop && i < at+heldPoints:
			x = 0
		case k == smallSpike && i == at:
			x = spikeCount(m)
		}
		xs[i] = x
	}
	return xs
}
