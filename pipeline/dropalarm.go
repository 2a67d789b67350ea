package pipeline

import (
	"log/slog"
	"sync"
	"time"
)

// dropAlarm makes lost records loud: a WARN when a reason (decode, event_time, late) took at
// least dropWarnShare of a window's records, naming the reason and one record as an example.
// Counters alone were not enough: a run that dead-lettered every record (a wrong time_field)
// logged nothing at all. At most one line per reason per dropWarnEvery; the next one says how
// many it stood for.
type dropAlarm struct {
	log *slog.Logger
	now Clock

	mu         sync.Mutex
	last       [numDropReasons]time.Time
	suppressed [numDropReasons]int
}

const (
	// dropWarnShare is the share of a window's records (1 in 100) that makes a reason worth a
	// warning.
	dropWarnShare = 100
	dropWarnEvery = time.Minute
)

func newDropAlarm(log *slog.Logger, now Clock) *dropAlarm { return &dropAlarm{log: log, now: now} }

// window checks a partition's window's counts; the runner calls it for every partial it hands
// to the writer.
func (a *dropAlarm) window(w Window, c *windowCounts, policy LatePolicy) {
	seen := c.seen()
	for r := range numDropReasons {
		n := c.count(r)
		if n == 0 || n*dropWarnShare < seen {
			continue
		}
		msg := "records of a window went to dead letters"
		if r == reasonLate {
			msg = "records arrived after their window closed (window.allowed_lateness)"
		}
		a.warn(r, msg, "window", w.Start, "reason", r.String(), "records", n, "of", seen,
			"share", float64(n)/float64(seen), "late_policy", string(policy), "example", c.example[r])
	}
}

// unplaced warns about dead letters of a partition that has had no window open to count them
// in for a while (every record of it bad, or none usable yet): the runner calls it from its
// ticks.
func (a *dropAlarm) unplaced(p Partition, c *windowCounts) {
	for r := range numDropReasons {
		if n := c.dead[r]; n > 0 {
			a.warn(r, "records went to dead letters and none since was usable: no window counts them yet",
				"partition", p.String(), "reason", r.String(), "records", n, "example", c.example[r])
		}
	}
}

func (a *dropAlarm) warn(r dropReason, msg string, args ...any) {
	now := a.now()
	a.mu.Lock()
	if !a.last[r].IsZero() && now.Sub(a.last[r]) < dropWarnEvery {
		a.suppressed[r]++
		a.mu.Unlock()
		return
	}
	a.last[r] = now
	suppressed := a.suppressed[r]
	a.suppressed[r] = 0
	a.mu.Unlock()
	if suppressed > 0 {
		args = append(args, "similar_warnings_suppressed", suppressed)
	}
	a.log.Warn(msg, args...)
}

// LogValue renders the example as one group in the log line.
func (e dropExample) LogValue() slog.Value {
	return slog.GroupValue(slog.String("partition", e.partition.String()),
		slog.String("position", e.position.String()), slog.String("detail", e.detail))
}
