package demo

import (
	"math"
	"testing"
	"time"
)

// A generator that stalls (its ticker drops ticks on a busy machine) still gives every window
// of event time its scripted traffic, a spike under the stall included: the events owed for
// the stall are spread over the event time they were owed for. Stamped with the late tick's
// time, as they were, the stalled windows came out empty and the next one doubled: a dip and
// a spike the anomaly detector flagged (worker TestDemoScriptedAnomaliesFlagged under load),
// which then held back the scripted anomalies' own events.
func TestPaceSpreadsAStallOverItsEventTime(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Rate, cfg.Speed, cfg.DayLength = 2000, 2, time.Minute
	s := shape{day: cfg.DayLength}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := newPace(cfg, s, start)
	const window = time.Second // of event time
	counts := map[int]int{}
	emit := func(since time.Duration) { counts[int(since/window)]++ }
	// 14 s of 10-ms ticks but none in two stalls: from 1.0 s to 1.6 s of wall time (2.0 s to
	// 3.2 s of event time), and from 9.0 s to 11.5 s (18 s to 23 s), over the first traffic
	// spike (19.8 s to 20.52 s).
	for wall := 10 * time.Millisecond; wall <= 14*time.Second; wall += 10 * time.Millisecond {
		if (wall > time.Second && wall < 1600*time.Millisecond) || (wall > 9*time.Second && wall < 11500*time.Millisecond) {
			continue
		}
		p.due(start.Add(wall), emit)
	}
	// Every whole window of the 28 s of event time: the rate integrated over it.
	for w := range 28 {
		want := owedFor(cfg, s, time.Duration(w)*window, time.Duration(w+1)*window)
		if got := float64(counts[w]); math.Abs(got-want) > 0.01*want+2 {
			t.Errorf("window %d of event time: %d events, want %.0f", w, counts[w], want)
		}
	}
}

// A stall longer than maxCatchUp is made up for its last maxCatchUp only: events stamped
// further back could be late for a worker with the default allowed lateness.
func TestPaceMakesUpOnlyTheLastOfALongStall(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Rate, cfg.Speed = 2000, 2
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := shape{day: cfg.DayLength}
	p := newPace(cfg, s, start)
	p.due(start.Add(10*time.Millisecond), func(time.Duration) {})
	var first, last time.Duration
	n := 0
	p.due(start.Add(8*time.Second), func(since time.Duration) {
		if n == 0 {
			first = since
		}
		last = since
		n++
	})
	from := time.Duration(float64(8*time.Second-maxCatchUp) * cfg.Speed)
	if first <= from || first > from+slice || last != 16*time.Second {
		t.Errorf("an 8 s stall made up event time from %v to %v, want from just after %v to 16s", first, last, from)
	}
	if want := owedFor(cfg, s, from, 16*time.Second); math.Abs(float64(n)-want) > 0.01*want+2 {
		t.Errorf("%d events made up, want about %.0f", n, want)
	}
}

// owedFor is the script's traffic over event time (from, to], integrated finely.
func owedFor(cfg Config, s shape, from, to time.Duration) float64 {
	const steps = 1000
	owed := 0.0
	for i := range steps {
		since := from + time.Duration((float64(i)+0.5)/steps*float64(to-from))
		owed += cfg.Rate * s.rateFactor(since) * (to - from).Seconds() / steps
	}
	return owed
}
