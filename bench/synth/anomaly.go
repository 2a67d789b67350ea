package main

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
)

// kind is a scripted anomaly of the kinds users mean. Sizes are in the family's scale (its
// ordinary point-to-point noise), so that each is plainly visible on a chart of the series
// without being a different series: 10 scales for a one-window spike, 5 for a change that
// lasts. Two are smaller on purpose, because what users mean by them shows in no single point:
// a small shift of 1.5 scales (a deploy raises a latency's floor a little, a producer loses a
// tenth of its traffic), which only accumulated evidence can tell from noise; and flapping, one
// point in three 3 scales above its level (the band's edge, which the clean noise reaches every
// few days), where the rate of excursions is new and no excursion is. And a held bump (round 59):
// the level moved for six hours and given back, at flapping's 3 scales (no point of it alone
// beyond the band, its hours plain on a chart) and at the small shift's 1.5; each also one point
// long, the baseline of what its first point alone is worth. And where a family moves its level
// otherwise than by its stated scale (latency, in log terms: 5 log-deviations are 5.8–8.6 stated
// scales up and 3.2–4.3 down, round 56), the shift of 5 stated scales beside it, both signs
// (round 63), so that up and down are the same size in the unit the table states.
type kind int

const (
	clean       kind = iota // no anomaly: the false-alarm series
	spike                   // one window 10 scales above
	shiftUp                 // the level 5 scales higher from onset on
	shiftDown               // the level 5 scales lower from onset on
	dropZero                // exactly 0 from onset on: activity stops
	stuck                   // the value before onset repeated exactly: the exporter froze
	variance                // the noise around the level three times as large
	drift                   // the level moves up by 5 scales over a day, linearly
	missedCycle             // the daily cycle does not happen for a day: the level stays at the day's mean
	smallShift              // the level 1.5 scales higher from onset on: a deploy raises a floor a little
	flapping                // every third point 3 scales above its level from onset on: each excursion ordinary, their rate not
	held3                   // the level 3 scales higher for bumpPoints, then back: a level held for hours and given back
	held15                  // the same at 1.5 scales: marginal
	first3                  // held3's first point alone: the baseline of what the bump's onset is worth
	first15                 // held15's first point alone
	linUp                   // the level 5 stated scales higher from onset on, on a family that shifts otherwise
	linDown                 // the level 5 stated scales lower from onset on, likewise
)

var kindNames = [...]string{"clean", "spike", "shift up", "shift down", "drop to zero", "stuck", "variance x3", "drift", "missed cycle", "small shift", "flapping", "held 3 6h", "held 1.5 6h", "3 first pt", "1.5 first pt", "shift up lin", "shift dn lin"}

func (k kind) String() string { return kindNames[k] }

// kinds are the scripted anomalies, in the table's order.
var kinds = []kind{spike, shiftUp, shiftDown, dropZero, stuck, variance, drift, missedCycle, smallShift, flapping, held3, held15, first3, first15, linUp, linDown}

// bumpPoints is a held bump's length: 6 hours, as `exchange-4_cpm_results`' night held at a new
// price (bench/nab/DECISIONS.md, round 57), long enough that a person at a dashboard would call it
// a level and short enough to be given back within a shift.
const bumpPoints = pointsPerDay / 4

// bump is kind k's held bump, in scales and points; ok is false for the other kinds.
func (k kind) bump() (size float64, points int, ok bool) {
	switch k {
	case held3:
		return 3, bumpPoints, true
	case held15:
		return 1.5, bumpPoints, true
	case first3:
		return 3, 1, true
	case first15:
		return 1.5, 1, true
	}
	return 0, 0, false
}

// delay is how many points after the onset an alarm still counts as detecting the anomaly.
// A spike is one window: an alarm after it is about something else. A shift, a stop, a stuck
// value or a wider noise is worth a page within the hour (12 points); later, a person looking
// at a dashboard would have seen it. A drift is only 5 scales away at the end of its day, so
// its whole ramp counts. A missed cycle differs from the clean day only where the cycle would
// have left its mean; within 12 hours of any onset it passes a peak or a trough. A small shift
// is not plain on its own point, only as evidence accumulated over points: 40 points is four
// times the average run length of a two-sided CUSUM (k = 1/2, h = ln(Memory × tailHorizon) ≈ 9.4
// nats) at 1.5 deviations, about 10 points (Siegmund), the delay round 38's behaviour test gave a
// sequential test at that size. Flapping is four excursions within the hour, where its rate, not
// any one excursion, is the news. A held bump counts within itself (an alarm on its return is
// about the return), and its first point alone on that point.
func (k kind) delay() int {
	if _, n, ok := k.bump(); ok {
		return n - 1
	}
	switch k {
	case spike:
		return 0
	case drift:
		return pointsPerDay
	case missedCycle:
		return pointsPerDay / 2
	case smallShift:
		return 40
	}
	return 12
}

// applies says whether kind k means something on family f, and if not why.
func (f *family) applies(k kind) (bool, string) {
	if k == missedCycle && !f.cycle {
		return false, "no daily cycle"
	}
	if (k == linUp || k == linDown) && f.shift == nil {
		return false, "its shift rows already move the level by its stated scale"
	}
	if why, ok := f.skip[k]; ok {
		return false, why
	}
	return true, ""
}

// Series are four weeks long: three to learn in (Memory is 6000 points, three weeks), and the
// anomaly's onset at a uniform point of the fourth, so that it falls at any hour and on
// weekdays and weekends alike.
const (
	learnPoints  = 3 * pointsPerWeek
	seriesPoints = 4 * pointsPerWeek
)

// onset is where seed's anomalies start: the same for every family and kind of that seed,
// drawn apart from the series' own noise.
func onset(seed uint64) int {
	r := rand.New(rand.NewPCG(seed, 0x0a5e7))
	return learnPoints + r.IntN(pointsPerWeek)
}

// noise is the stream family f's series of seed draw from: keyed by the family and the seed
// alone, so that every kind, and a mature series (mature.go), draws the same noise in the same
// order up to its onset.
func noise(f *family, seed uint64) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(f.name))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// generate returns family f's series for seed with anomaly k starting at at (ignored for
// clean), n points long. The noise is drawn from a stream keyed by the family and the seed
// alone, in the same order for every kind, so every kind's series equals the clean one before
// at.
func generate(f *family, k kind, seed uint64, at, n int) []float64 {
	draw := f.source(noise(f, seed))
	xs := make([]float64, n)
	for i := range xs {
		on := k != clean && i >= at
		m := f.level(load(i))
		if on {
			switch k {
			case shiftUp:
				m = f.shifted(m, 5)
			case shiftDown:
				m = f.shifted(m, -5)
			case smallShift:
				m = f.shifted(m, 1.5)
			case drift:
				m = f.shifted(m, 5*math.Min(1, float64(i-at+1)/float64(pointsPerDay)))
			case held3, held15, first3, first15:
				if size, pts, _ := k.bump(); i < at+pts {
					m = f.shifted(m, size)
				}
			case linUp:
				m += 5 * f.scale(m)
			case linDown:
				// Latency's stated scale at its weekday peak is a fifth of the level, so 5 of
				// them take it to 0 there (a drop more than a shift: the log rows stay beside);
				// never below.
				m = math.Max(0, m-5*f.scale(m))
			case missedCycle:
				if i < at+pointsPerDay {
					m = f.level(dayMeanLoad(i))
				}
			}
		}
		x := draw(m)
		if on {
			switch k {
			case spike:
				if i == at {
					x += 10 * f.scale(m)
				}
			case dropZero:
				x = 0
			case stuck:
				x = xs[at-1]
			case variance:
				x = m + 3*(x-m)
			case flapping:
				if (i-at)%3 == 0 {
					x += 3 * f.scale(m)
				}
			}
		}
		xs[i] = f.clamp(x)
	}
	return xs
}
