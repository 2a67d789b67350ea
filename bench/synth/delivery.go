package main

import (
	"math/rand/v2"
	"time"

	"github.com/weirstream/weir/pipeline/anomaly"
)

// delivery is a way the clean series reaches the detector other than one point per window, on
// time: an exporter that was down and resumes, a producer whose clock is not the collector's.
// The values are the clean series' own, so what a user expects is the clean run's alarms and
// no more: every alarm a delivery adds is a false one.
type delivery int

const (
	gapShort   delivery = iota // no points for 2 hours from the onset, then the clean values again
	gapDay                     // no points for a day from the onset, then the clean values again
	jitter                     // every timestamp off by up to ±4 minutes, drawn per point: some neighbours arrive out of order
	clockAhead                 // every timestamp an hour ahead from the start: the clock slots an hour off the series' cycle
	clockStep                  // timestamps an hour ahead from the onset on, after three weeks learned on time
	// clockAhead's timestamps, with anomaly.time_zone set to the producer's clock (Etc/GMT+1,
	// an hour behind the UTC they read as): the setting a user whose week is not UTC's sets.
	clockAheadZone
)

var deliveryNames = [...]string{"gap 2h", "gap 1d", "jitter 4m", "clock +1h", "clock step", "+1h, tz set"}

func (k delivery) String() string { return deliveryNames[k] }

// deliveries are the ways measured, in the table's order.
var deliveries = []delivery{gapShort, gapDay, jitter, clockAhead, clockStep, clockAheadZone}

// config is the detector's configuration for delivery k: the default, in the producer's zone
// for clockAheadZone.
func (k delivery) config() anomaly.Config {
	cfg := anomaly.DefaultConfig()
	if k == clockAheadZone {
		cfg.TimeZone = "Etc/GMT+1" // POSIX sign: UTC−1
	}
	return cfg
}

const (
	// afterPoints is how many points are counted after a gap or a clock step: a day, so that
	// the disturbance is followed by every time of day.
	afterPoints = pointsPerDay
	// afterEarly is the first hour of those, reported apart: a level gone stale in a gap is
	// judged on the first points after it.
	afterEarly = 12
	// maxJitter bounds a jittered timestamp's error. At 4 minutes on 5-minute windows, two
	// neighbours arrive out of order about once in fourteen pairs (a difference of two uniform
	// errors beyond the 5 minutes between them), as with a producer's clock that NTP keeps
	// within minutes of the collector's.
	maxJitter = 4 * time.Minute
)

// arrival is one point as it reaches the detector: the index of its value in the series and
// the time it carries.
type arrival struct {
	i int
	t time.Time
}

// on is the time of point i when the producer's clock is right.
func on(i int) time.Time { return t0.Add(time.Duration(i) * step) }

// arrivals returns the points of seed's series, whose onset is at, as delivery k brings them to
// the detector, in arrival order; from is the position in that list from which alarms are
// counted, and early how many of the counted points are also reported apart. A gap or a clock
// step is judged on the day after it (its first hour apart); the jitter and a clock ahead from
// the start, which last the whole series, on every point (the first youngPoints apart), as the
// clean series is.
func (k delivery) arrivals(seed uint64, at int) (as []arrival, from, early int) {
	switch k {
	case gapShort, gapDay:
		gap := 2 * 12
		if k == gapDay {
			gap = pointsPerDay
		}
		as = make([]arrival, 0, at+afterPoints)
		for i := range at {
			as = append(as, arrival{i, on(i)})
		}
		for i := at + gap; i < at+gap+afterPoints; i++ {
			as = append(as, arrival{i, on(i)})
		}
		return as, at, afterEarly
	case clockStep:
		as = make([]arrival, 0, at+afterPoints)
		for i := range at + afterPoints {
			t := on(i)
			if i >= at {
				t = t.Add(time.Hour)
			}
			as = append(as, arrival{i, t})
		}
		return as, at, afterEarly
	case jitter:
		// Drawn apart from the values' stream, so that the values are the clean series'.
		r := rand.New(rand.NewPCG(seed, 0x717e4))
		span := int64(2*maxJitter/time.Second) + 1
		as = make([]arrival, seriesPoints)
		for i := range as {
			as[i] = arrival{i, on(i).Add(time.Duration(r.Int64N(span))*time.Second - maxJitter)}
		}
		return as, 0, youngPoints
	case clockAhead, clockAheadZone:
		as = make([]arrival, seriesPoints)
		for i := range as {
			as[i] = arrival{i, on(i).Add(time.Hour)}
		}
		return as, 0, youngPoints
	}
	panic("unknown delivery")
}

// deliver runs the arrivals of series xs through a fresh detector of cfg, in arrival order.
func deliver(cfg anomaly.Config, xs []float64, as []arrival, observe observer) []anomaly.Result {
	d := anomaly.New(cfg)
	rs := make([]anomaly.Result, len(as))
	for j, a := range as {
		rs[j] = observe(d, a.t, xs[a.i])
	}
	return rs
}

// deliveryRow is one series kind × delivery over every seed: the alarms at the counted points,
// and the clean run's (on time, no gap) at the same points of the series.
type deliveryRow struct {
	Series           string `json:"series"` // family/path
	Kind             string `json:"kind"`
	Points           int    `json:"points"`
	Alarms           int    `json:"alarms"`
	CleanAlarms      int    `json:"clean_alarms"`
	EarlyPoints      int    `json:"early_points"`
	EarlyAlarms      int    `json:"early_alarms"`
	CleanEarlyAlarms int    `json:"clean_early_alarms"`
}

func (r deliveryRow) key() string { return r.Series + " " + r.Kind }

// add counts one seed: rs are the delivered run's results, in arrival order, and clean the
// clean run's, indexed by point.
func (r *deliveryRow) add(rs []anomaly.Result, as []arrival, from, early int, clean []anomaly.Result) {
	for j := from; j < len(as); j++ {
		a, c := rs[j].Alarm, clean[as[j].i].Alarm
		r.Points++
		r.Alarms += b2i(a)
		r.CleanAlarms += b2i(c)
		if j < from+early {
			r.EarlyPoints++
			r.EarlyAlarms += b2i(a)
			r.CleanEarlyAlarms += b2i(c)
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
