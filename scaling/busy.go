package scaling

import (
	"sync"
	"time"
)

// BusyFraction returns a func reporting the share of time a runtime stage's goroutines were
// busy since its previous call, from totals, the stage's cumulative time in each state (the
// worker passes pipeline.Metrics.StageTotals("runner")): Δbusy ÷ Δ(busy + backpressured +
// idle), the average over the stage's goroutines, which is what the true rate (observed ÷
// busy) needs. Backpressured time is not busy: a runner waiting for the sinks could process
// more if they were faster.
//
// The first call covers the time since the stage began; with no stage time at all it reports
// 1 (no spare capacity assumed).
func BusyFraction(totals func() (busy, backpressured, idle time.Duration)) func() float64 {
	var mu sync.Mutex
	var prevBusy, prevAll time.Duration
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		busy, bp, idle := totals()
		all := busy + bp + idle
		db, da := busy-prevBusy, all-prevAll
		prevBusy, prevAll = busy, all
		if da <= 0 || db < 0 {
			return 1
		}
		return min(float64(db)/float64(da), 1)
	}
}
