package main

import (
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline/anomaly"
	"github.com/weirstream/weir/pipeline/anomaly/anomalytest"
)

// TestFamiliesSnapshotsRestore: every family's series, clean and with each anomaly that applies
// to it, reaches only states whose snapshots the decoder accepts and restores exactly (the
// decoder's bounds, pipeline/anomaly/snapshot.go): a refused snapshot drops a series' history at
// a restart. Each series is restored at its first 25 points and every 250th after.
func TestFamiliesSnapshotsRestore(t *testing.T) {
	const seed = 1
	at := onset(seed)
	for i := range families {
		f := &families[i]
		for _, k := range append([]kind{clean}, kinds...) {
			if ok, _ := f.applies(k); !ok {
				continue
			}
			xs := generate(f, k, seed, at, seriesPoints)
			pts := make([]anomalytest.Point, len(xs))
			for j, x := range xs {
				pts[j] = anomalytest.Point{T: t0.Add(time.Duration(j) * step), V: x}
			}
			if err := anomalytest.Restores(anomaly.DefaultConfig(), pts, f.count, anomalytest.Often); err != nil {
				t.Errorf("%s, %s: %v", f.name, k, err)
			}
		}
	}
}
