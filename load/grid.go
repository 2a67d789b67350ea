package load

import (
	"context"
	"time"
)

// OnGrid calls tick at every boundary of the period grid (Unix time truncated to period) plus
// after, until ctx ends: the grid every worker's reports are filed on, so all of a period's
// reports carry the same start, and the aggregator's sizing runs after a boundary, once they
// are written. tick runs on OnGrid's goroutine; a tick that overruns a boundary delays the next
// one, it does not queue them.
func OnGrid(ctx context.Context, period, after time.Duration, tick func(now time.Time)) {
	next := func(now time.Time) time.Duration {
		return now.Add(-after).Truncate(period).Add(period + after).Sub(now)
	}
	t := time.NewTimer(next(time.Now()))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		tick(time.Now())
		t.Reset(next(time.Now()))
	}
}
