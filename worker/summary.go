package worker

import (
	"context"
	"fmt"
	"os"
	"time"
)

// summaryEvery is how often the live summary line is printed.
const summaryEvery = 2 * time.Second

// summarize prints one status line every few seconds to stderr (when enabled): the records/s
// over the last interval, the consumer lag seen by the last fetches, the in-flight bytes against
// the budget, and the windows made durable.
func (w *Assembly) summarize(ctx context.Context) {
	on := w.cfg.Summary == "on"
	if w.cfg.Summary == "auto" {
		fi, err := os.Stderr.Stat()
		on = err == nil && fi.Mode()&os.ModeCharDevice != 0
	}
	if !on {
		return
	}
	t := time.NewTicker(summaryEvery)
	defer t.Stop()
	prev := w.rt.Stats()
	prevAt := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			st := w.rt.Stats()
			rate := float64(st.Records-prev.Records) / now.Sub(prevAt).Seconds()
			fmt.Fprintf(os.Stderr, "weir  %8.0f rec/s  lag %7s  in-flight %s/%s  partitions %d  windows %d  records %d\n",
				rate, w.src.lag(), mib(st.InFlightBytes), mib(w.budget.Limit()), st.Partitions, st.WindowsFlushed, st.Records)
			prev, prevAt = st, now
		}
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20)) }
