package worker

import (
	"context"
	"fmt"
	"os"
	"time"
)

// summaryEvery is how often the live summary line is printed.
const summaryEvery = 2 * time.Second

// summarize prints one status line every few seconds to Deps.Status (when enabled: "on", or
// "auto" and Status is a terminal): the records/s over the last interval, the consumer lag seen
// by the last fetches, the in-flight bytes against the budget, and the partials made durable.
func (a *Assembly) summarize(ctx context.Context) {
	if !a.summaryOn() {
		return
	}
	t := time.NewTicker(summaryEvery)
	defer t.Stop()
	prev := a.rt.Stats()
	prevAt := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			st := a.rt.Stats()
			rate := float64(st.Records-prev.Records) / now.Sub(prevAt).Seconds()
			fmt.Fprintf(a.status, "weir  %8.0f rec/s  lag %7s  in-flight %s/%s  partitions %d  partials %d  records %d\n",
				rate, behind(a.src), mib(st.InFlightBytes), mib(a.budget.Limit()), st.Partitions, st.Partials, st.Records)
			prev, prevAt = st, now
		}
	}
}

func (a *Assembly) summaryOn() bool {
	switch {
	case a.status == nil || a.cfg.Summary == "off":
		return false
	case a.cfg.Summary == "on":
		return true
	}
	f, ok := a.status.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func mib(n int64) string { return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20)) }
