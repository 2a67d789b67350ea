package anomaly

import (
	"fmt"
	"testing"
)

// TestStuckValueIsOneEvent: a sensor that sticks at an ordinary value on a series that never
// repeats is news once (TestStuckValueIsAPattern), not again each time its run doubles. The
// novelty context counts the run at the current level so that a value stuck for longer than
// usual is a new shape; a run that has outlasted Quiet is the same episode, and its doublings
// are not new shapes (bench/nab/DECISIONS.md 297, 301). Before 297, 18 of 20 seeds alarmed a
// second time 250 to 255 points into the stall, at the run's doubling to 256.
func TestStuckValueIsOneEvent(t *testing.T) {
	const stall = 3000
	quiet := DefaultConfig().Quiet
	var again []string
	for seed := uint64(1); seed <= 20; seed++ {
		xs := series(6000, seed, flat)
		for i := stall; i < len(xs); i++ {
			xs[i] = 100
		}
		rs := run(t, xs)
		for i := stall + quiet; i < len(rs); i++ {
			if rs[i].Alarm {
				again = append(again, fmt.Sprintf("seed %d: %d points into the stall (%.3f, %v)",
					seed, i-stall, rs[i].Score, rs[i].Reason))
				break
			}
		}
	}
	if len(again) > 1 {
		t.Errorf("a stuck value alarmed again after Quiet points on %d of 20 seeds, want at most 1: %v",
			len(again), again)
	}
}
