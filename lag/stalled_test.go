package lag

import (
	"testing"

	"github.com/weirstream/weir/pipeline"
)

// STALL and STOP partitions count as stalled; the others do not, and none is a zero (an
// alarm on the metric sees data on a healthy fleet).
func TestStalledPoint(t *testing.T) {
	var r Report
	if p := StalledPoint(r); p.Name != MetricPartitionsStalled || p.Value != 0 || p.Unit != pipeline.UnitCount {
		t.Fatalf("no partitions: %+v", p)
	}
	r.Total.ByStatus[OK], r.Total.ByStatus[WARN], r.Total.ByStatus[REWIND] = 5, 1, 1
	r.Total.ByStatus[STALL], r.Total.ByStatus[STOP] = 2, 1
	if p := StalledPoint(r); p.Value != 3 {
		t.Errorf("2 STALL + 1 STOP: %v, want 3", p.Value)
	}
}
