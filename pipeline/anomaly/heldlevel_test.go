package anomaly

import "testing"

// TestConstantSeriesNeverAlarms: a gauge that never moves (an idle queue's depth, a pinned
// setting) is not news however long it stays where it is. The novelty context counts the run
// at the current level, so that a value stuck for longer than usual is a new shape; a run that
// has outlasted Quiet must not become a new shape again at each doubling (bench/nab/DECISIONS.md
// 297: before it, a constant series alarmed at points 1,024, 2,048 and 4,096).
func TestConstantSeriesNeverAlarms(t *testing.T) {
	xs := make([]float64, 5000)
	for i := range xs {
		xs[i] = 45
	}
	if got := alarms(run(t, xs)); len(got) > 0 {
		t.Errorf("a constant series alarms at %v, want never", got)
	}
}
