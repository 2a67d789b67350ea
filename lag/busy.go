package lag

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// BusyFraction returns a func reporting the share of time the goroutines of a runtime stage
// ("runner") were busy since its previous call, from the weir_stage_seconds_total counters in
// g: Δbusy ÷ Δ(busy + idle + backpressured), the average over the stage's goroutines, which
// is what scaling's true rate (observed ÷ busy) needs. Backpressured time is not busy: a
// runner waiting for the sinks could process more if they were faster.
//
// It reads the registry because pipeline.Metrics has no accessor for the stage totals yet;
// a direct accessor would avoid gathering the whole registry once a period. The first call
// covers the time since the stage began; with no stage time at all it reports 1 (no spare
// capacity assumed).
func BusyFraction(g prometheus.Gatherer, stage string) func() float64 {
	var mu sync.Mutex
	var prevBusy, prevAll float64
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		busy, all, ok := stageSeconds(g, stage)
		if !ok {
			return 1
		}
		db, da := busy-prevBusy, all-prevAll
		prevBusy, prevAll = busy, all
		if da <= 0 || db < 0 {
			return 1
		}
		return min(db/da, 1)
	}
}

func stageSeconds(g prometheus.Gatherer, stage string) (busy, all float64, ok bool) {
	mfs, err := g.Gather()
	if err != nil {
		return 0, 0, false
	}
	for _, mf := range mfs {
		if mf.GetName() != "weir_stage_seconds_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var st, state string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "stage":
					st = l.GetValue()
				case "state":
					state = l.GetValue()
				}
			}
			if st != stage {
				continue
			}
			v := m.GetCounter().GetValue()
			all += v
			if state == "busy" {
				busy += v
			}
			ok = true
		}
	}
	return busy, all, ok
}
