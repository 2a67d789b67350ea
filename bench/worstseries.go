package main

import "time"

// worstSeries keeps the longest delay seen in each second since its first sample: whether a
// latency tail is spread out or made of a few stalls, and when they happened. Not safe for
// concurrent use.
type worstSeries struct {
	start time.Time
	worst []int64 // µs, per second since start
}

// add records a delay of us microseconds observed at now. The series is bounded: the latency
// scenario runs for -latency-duration, so an hour of seconds at most is kept.
func (w *worstSeries) add(now time.Time, us int64) {
	if w.start.IsZero() {
		w.start = now
	}
	if sec := int(now.Sub(w.start) / time.Second); sec < 3600 {
		for len(w.worst) <= sec {
			w.worst = append(w.worst, 0)
		}
		w.worst[sec] = max(w.worst[sec], us)
	}
}

// ms returns the series in milliseconds and its start as Unix seconds (0 if empty).
func (w *worstSeries) ms() (series []float64, fromUnix float64) {
	for _, us := range w.worst {
		series = append(series, float64(us)/1000)
	}
	return series, unixSeconds(w.start)
}

// unixSeconds is t as fractional Unix seconds, 0 for the zero time.
func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}
