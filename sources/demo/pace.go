package demo

import (
	"math"
	"time"
)

// pace is the generator's schedule: how many events the traffic owes at a tick, and the span of
// event time they belong to. What is owed is the scripted rate integrated over the wall time
// since the last tick, not a fixed tick's worth: a ticker drops ticks when the producer falls
// behind (a busy machine). And the events owed for a late tick are spread over the event time
// they were owed for, not stamped with the tick's: stamped at the tick, a stall of the
// generator left its windows empty and piled their traffic into the next one, a dip and a
// spike of event time that the anomaly detector then rightly flagged (and, flagging it, held
// back the scripted anomaly that followed within its quiet horizon). A stall now only delays
// the events; each window of event time gets its traffic.
type pace struct {
	speed float64
	rate  float64 // mean events per second of event time
	shape shape
	start time.Time
	// last is the wall time up to which events have been owed; owed carries the fraction of
	// an event left over.
	last time.Time
	owed float64
}

func newPace(cfg Config, s shape, start time.Time) *pace {
	return &pace{speed: cfg.Speed, rate: cfg.Rate, shape: s, start: start, last: start}
}

// maxCatchUp bounds the wall time one tick makes up for; a longer stall loses the rest of its
// traffic, as from a producer that was down. The events made up continue the event time where
// the generator stopped, so no partition's own newer records can make them late; but a
// partition given nothing for window.idle_timeout (default 10 s) is quiet, its watermark then
// follows the wall clock, and events made up for more than that could be late. 5 s keeps
// well inside the default; at load averages of 25 the test process stalled for over 2 s, and
// with 1 s made up those stalls emptied windows the detector then flagged.
const maxCatchUp = 5 * time.Second

// slice is the most event time one run of due's events spans: the scripted rate is taken at
// each slice's middle, so a spike or burst shorter than a stall is still made up in its own
// event time.
const slice = 10 * time.Millisecond

// due calls emit with the event time, since the start, of each event owed at wall time now,
// in order: the events of (the last tick, now] spread evenly over the event time they fall in.
// A tick that comes more than maxCatchUp late makes up only the last maxCatchUp.
func (p *pace) due(now time.Time, emit func(since time.Duration)) {
	if !now.After(p.last) {
		return
	}
	begin := p.last
	if now.Sub(begin) > maxCatchUp {
		begin = now.Add(-maxCatchUp)
	}
	p.last = now
	from := time.Duration(float64(begin.Sub(p.start)) * p.speed)
	end := time.Duration(float64(now.Sub(p.start)) * p.speed)
	for from < end {
		to := min(from+slice, end)
		p.owed += p.rate * p.shape.rateFactor(from+(to-from)/2) * (to - from).Seconds()
		n := int(math.Floor(p.owed))
		p.owed -= float64(n)
		for i := range n {
			emit(from + time.Duration(float64(to-from)*float64(i+1)/float64(n)))
		}
		from = to
	}
}
