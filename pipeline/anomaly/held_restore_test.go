package anomaly_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline/anomaly"
	"github.com/weirstream/weir/pipeline/anomaly/anomalytest"
)

// TestHeldRunRestores: whether a point holds a run's price (bench/nab/DECISIONS.md 446: the stops
// channel between the run lengths it re-prices, the stuck channel past its gate, is no report) is
// read from the runs the snapshot keeps (zeros.run, stuck.run, stuck.held, stuck.longest), so a
// detector restored in the middle of a held run must report exactly as one never restored. Records
// of a stream with a daily shape (one point per 5 minutes), three weeks to learn in, then a stop
// of a day and a half (past 256 zeros, so it holds its price past Quiet between doublings) and,
// two days after its return, a value stuck for a day (far past its gate); as a count too. Restored
// before every point of both runs and of the Quiet points after each: every restore is accepted
// and every result and the final snapshot are bit-identical to a detector never restored.
func TestHeldRunRestores(t *testing.T) {
	const day = 288
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) // a Monday
	quiet := anomaly.DefaultConfig().Quiet
	stop, back := 21*day+100, 21*day+100+day+day/2
	stall, free := back+2*day, back+3*day
	r := rand.New(rand.NewPCG(102, 446))
	pts := make([]anomalytest.Point, free+day)
	for i := range pts {
		h := float64(i%day) / day * 24
		m := 20000 * (0.35 + 0.65*(0.5+0.5*math.Sin(2*math.Pi*(h-10)/24)))
		v := math.Round(m + math.Sqrt(m+0.05*0.05*m*m)*r.NormFloat64())
		switch {
		case i >= stop && i < back:
			v = 0
		case i >= stall && i < free:
			v = pts[stall-1].V
		}
		pts[i] = anomalytest.Point{T: t0.Add(time.Duration(i) * 5 * time.Minute), V: v}
	}
	during := func(i int) bool {
		return (i >= stop && i <= back+quiet) || (i >= stall && i <= free+quiet)
	}
	for _, count := range []bool{false, true} {
		if err := anomalytest.Restores(anomaly.DefaultConfig(), pts, count, during); err != nil {
			t.Errorf("count %t: %v", count, err)
		}
	}
}
