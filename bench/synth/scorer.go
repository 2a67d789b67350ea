package main

import (
	"sort"
	"time"

	"github.com/weirstream/weir/pipeline/anomaly"
)

// observer is how a series' points reach the detector: Observe, or ObserveCount for a series
// the analyzer judges as counts.
type observer func(d *anomaly.Detector, t time.Time, v float64) anomaly.Result

// countObserver is the detector's ObserveCount, asserted at run time so that this package also
// builds against an older detector that judged every series by value (it then runs the count
// path through Observe, and the saved run says so).
type countObserver interface {
	ObserveCount(t time.Time, v float64) anomaly.Result
}

// hasObserveCount says whether the detector built in has ObserveCount.
var hasObserveCount = func() bool {
	var d any = &anomaly.Detector{}
	_, ok := d.(countObserver)
	return ok
}()

func observeValue(d *anomaly.Detector, t time.Time, v float64) anomaly.Result { return d.Observe(t, v) }

// observerFor is the observe path a family's series takes by the path's name ("count" or
// "value", family.paths).
func observerFor(path string) func(*anomaly.Detector, time.Time, float64) anomaly.Result {
	if path == "count" {
		return observeCount
	}
	return observeValue
}

func observeCount(d *anomaly.Detector, t time.Time, v float64) anomaly.Result {
	var a any = d
	if c, ok := a.(countObserver); ok {
		return c.ObserveCount(t, v)
	}
	return d.Observe(t, v)
}

// detect runs xs through a fresh detector with the default configuration (the worker's).
func detect(xs []float64, observe observer) []anomaly.Result {
	d := anomaly.New(anomaly.DefaultConfig())
	rs := make([]anomaly.Result, len(xs))
	for i, x := range xs {
		rs[i] = observe(d, t0.Add(time.Duration(i)*step), x)
	}
	return rs
}

// youngPoints is the length of a series' start whose false alarms are counted apart: its tails
// are not yet learned, and a new tenant's series lives there.
const youngPoints = 1000

// falseAlarms counts the alarms of a clean series' results: all of them, and those in its first
// youngPoints.
func falseAlarms(rs []anomaly.Result) (all, young int) {
	for i, r := range rs {
		if r.Alarm {
			all++
			if i < youngPoints {
				young++
			}
		}
	}
	return all, young
}

// outcome is one anomaly's result: whether an alarm came in [at, at+delay], after how many
// points, and the best score in that window (continuous, so that a change below the alarm
// score shows).
type outcome struct {
	detected bool
	delay    int
	best     float64
}

func judge(rs []anomaly.Result, at, delay int) outcome {
	var o outcome
	for i := at; i <= at+delay && i < len(rs); i++ {
		o.best = max(o.best, rs[i].Score)
		if rs[i].Alarm && !o.detected {
			o.detected, o.delay = true, i-at
		}
	}
	return o
}

// median of xs (sorted in place); -1 for none, which no delay or score can be.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return -1
	}
	sort.Float64s(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}
