package pipeline

import "time"

// Window is a tumbling time window [Start, End).
type Window struct {
	Start time.Time
	End   time.Time
}

// WindowOf returns the tumbling window of the given period that contains t. Windows are aligned
// to the Unix epoch, so every worker and every restart agrees on window boundaries, which is what
// makes output keys deterministic.
func WindowOf(t time.Time, period time.Duration) Window {
	start := t.Truncate(period)
	return Window{Start: start, End: start.Add(period)}
}
