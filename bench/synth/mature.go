package main

import "math"

// change is a lasting change of a mature series' regime (round 74): from its onset on, for good,
// the series behaves otherwise, and what it does then is its new ordinary behaviour. A user
// wants the change flagged once and the new regime judged as the series now is: neither paged on
// its ordinary points for weeks nor blind to what is news in it.
type change int

const (
	noChange change = iota // the mature series unchanged: the rows' reference
	burstier               // the noise around the level twice as large, the level the same
	busier                 // the level twice as high, the noise relative to it the same: the daily shape scales
	quieter                // the level halved and held: a quiet month
)

var changeNames = [...]string{"none", "noise x2", "level x2", "level x1/2"}

func (c change) String() string { return changeNames[c] }

// changes are the regime changes measured, in the table's order.
var changes = []change{burstier, busier, quieter}

const (
	// maturePoints is a mature series' length, 11 weeks: six to learn, so that the tail curves'
	// horizon (2 × Memory, 12,000 points) has passed before anything changes, the change in the
	// seventh, and four whole weeks after it on every seed.
	maturePoints = 11 * pointsPerWeek
	// afterDays is how many days after the change are counted: four weeks, which every seed has.
	afterDays = 4 * 7
	// changeDelay is how many points after the onset an alarm still counts as flagging the change:
	// the shift and variance rows' hour.
	changeDelay = 12
	// spikeAfter is how long the new regime has held when its spike comes: two weeks, when a
	// person calls the new regime normal (a deploy two weeks old is no longer news).
	spikeAfter = 2 * pointsPerWeek
)

// matureOnset is where seed's regime changes: the seed's onset of the four-week rows three weeks
// later, in week 7 (the same hour and weekday, uniform over the week).
func matureOnset(seed uint64) int { return onset(seed) + 3*pointsPerWeek }

// factor is the level change's multiplier; 1 for the changes that leave the level alone.
func (c change) factor() float64 {
	switch c {
	case busier:
		return 2
	case quieter:
		return 0.5
	}
	return 1
}

// appliesChange says whether change c means something on family f, and if not why.
func (f *family) appliesChange(c change) (bool, string) {
	if why, ok := f.changeSkip[c]; ok {
		return false, why
	}
	return true, ""
}

// generateMature returns family f's mature series for seed with change c from at on (ignored for
// noChange), n points long. It draws from the four-week rows' stream (noise), so its first
// points are the clean series' and every change's series is the unchanged one before at.
//
// A level change draws a count (records, errors: the series the analyzer judges as counts) at
// the new rate, so that it keeps its law; any other series becomes the same series in a unit
// factor times as large, so that its relative noise, its wander and its backlogs scale with it.
// Doubled noise is the variance row's form at 2, x = m + 2(x − m), on latency in log terms
// (m·(x/m)², as its shifts move it, so that it stays positive).
func generateMature(f *family, c change, seed uint64, at, n int) []float64 {
	draw := f.source(noise(f, seed))
	xs := make([]float64, n)
	for i := range xs {
		m := f.level(load(i))
		if c == noChange || i < at {
			xs[i] = f.clamp(draw(m))
			continue
		}
		var x float64
		switch c {
		case burstier:
			x = draw(m)
			if f.shift != nil { // latency: its law is log-normal
				x = m * math.Pow(x/m, 2)
			} else {
				x = m + 2*(x-m)
			}
		case busier, quieter:
			if f.count {
				x = draw(c.factor() * m)
			} else {
				x = c.factor() * draw(m)
			}
		}
		xs[i] = f.clamp(x)
	}
	return xs
}

// newScale is the scale, at clean level m, of family f's series after change c: the unit a spike
// in the new regime is sized in. Doubled noise doubles it; a level change gives a count the scale
// of its new rate, and any other series its scale in the new unit.
func (f *family) newScale(c change, m float64) float64 {
	switch c {
	case burstier:
		return 2 * f.scale(m)
	case busier, quieter:
		if f.count {
			return f.scale(c.factor() * m)
		}
		return c.factor() * f.scale(m)
	}
	return f.scale(m)
}

// spikeValue is point i of series xs (family f, change c) with a spike of 10 of its regime's
// scales added: the value a copy of the detector is given instead of xs[i].
func spikeValue(f *family, c change, xs []float64, i int) float64 {
	return f.clamp(xs[i] + 10*f.newScale(c, f.level(load(i))))
}
