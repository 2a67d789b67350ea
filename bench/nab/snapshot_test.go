package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/weirstream/weir/pipeline/anomaly"
	"github.com/weirstream/weir/pipeline/anomaly/anomalytest"
)

// nabData is the NAB dev split beside the repository (README.md, "The protocol"), as a worktree
// sees it.
const nabData = "../../../shared/data/nab/data"

// TestNABSnapshotsRestore: every series of the dev split, D and T alike (its values only; nothing
// is scored), reaches only states whose snapshots the decoder accepts and restores exactly (the
// decoder's bounds, pipeline/anomaly/snapshot.go): a refused snapshot drops a series' history at
// a restart. Each series is restored at its first 25 points and every 250th after.
func TestNABSnapshotsRestore(t *testing.T) {
	if _, err := os.Stat(nabData); err != nil {
		t.Skipf("no NAB data: %v", err)
	}
	files, err := dataFiles(nabData)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no CSV files under %s", nabData)
	}
	for _, name := range files {
		series, err := readSeries(filepath.Join(nabData, name))
		if err != nil {
			t.Fatal(err)
		}
		pts := make([]anomalytest.Point, len(series))
		for i, p := range series {
			pts[i] = anomalytest.Point{T: p.t, V: p.v}
		}
		if err := anomalytest.Restores(anomaly.DefaultConfig(), pts, false, anomalytest.Often); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
