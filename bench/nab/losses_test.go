package main

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline/anomaly"
)

// A series priced by hand as nabscore.py prices it: a detection in the probation counts for
// nothing; one before any window costs the full A_FP; a window's first detection is worth
// sig(−(R − i + 1)/W)/sig(−1) and a later one in it nothing more; a detection after a window
// costs A_FP · sig(distance / (W − 1)); a window without a detection is −1, and its best row
// is kept to say how near it came.
func TestPriceFileAsNABPrices(t *testing.T) {
	t0 := time.Date(2014, 2, 14, 0, 0, 0, 0, time.UTC)
	series := make([]point, 100) // probation: ⌊0.15 · 100⌋ = 15 rows
	for i := range series {
		series[i] = point{t: t0.Add(time.Duration(i) * 5 * time.Minute)}
	}
	at := func(i int) string { return series[i].t.Format(labelTime) }
	windows := [][2]string{{at(30), at(39)}, {at(70), at(79)}}
	scores := make([]float64, len(series))
	why := make([]anomaly.Reason, len(series))
	for i, s := range map[int]float64{10: 0.9, 20: 0.6, 33: 0.7, 35: 0.8, 45: 0.55, 72: 0.3} {
		scores[i], why[i] = s, anomaly.ReasonDeviation
	}
	why[33] = anomaly.ReasonPattern
	l, err := priceFile(series, scores, why, windows, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	worth := scaledSigmoid(-0.7) / scaledSigmoid(-1)           // row 33 of the window 30..39
	after := stdFP * scaledSigmoid(math.Abs(39.0-45.0)/(10-1)) // row 45, six rows after it
	wantRaw := worth - 1 - stdFP + after
	if len(l.windows) != 2 || !l.windows[0].found || l.windows[1].found {
		t.Fatalf("windows %+v, want the first found and the second missed", l.windows)
	}
	if f := l.windows[0].first; f.i != 33 || f.why != anomaly.ReasonPattern || math.Abs(f.worth-worth) > 1e-15 {
		t.Errorf("first detection %+v, want row 33, pattern, worth %v", f, worth)
	}
	if b := l.windows[1].best; b.i != 72 || b.score != 0.3 {
		t.Errorf("missed window's best row %+v, want row 72 at 0.3", b)
	}
	if len(l.rows) != 2 || l.rows[0].i != 20 || l.rows[1].i != 45 {
		t.Fatalf("false positives %+v, want rows 20 and 45 (10 is in the probation)", l.rows)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"raw", l.raw, wantRaw},
		{"late", l.late, 1 - worth},
		{"missed", l.missed, 2},
		{"rows", l.fp, stdFP - after},
		{"the parts", l.late + l.missed + l.fp, 2 - wantRaw}, // a perfect file scores 2
	} {
		if math.Abs(c.got-c.want) > 1e-12 {
			t.Errorf("%s %v, want %v", c.name, c.got, c.want)
		}
	}
	if _, err := priceFile(series, scores, why, [][2]string{{at(30), "2014-02-14 23:59:59.000000"}}, 0.5); err == nil {
		t.Error("a window ending on no row priced, want an error")
	}
}

// On a LOCO run every D series is priced, and each price equals nabscore's raw score for it
// (printLosses fails otherwise); -losses refuses T and names an unknown category.
func TestLOCOLossesMatchNABScore(t *testing.T) {
	script := nabscorePath(t)
	root := writeNAB(t)
	var b strings.Builder
	if err := runLOCO([]string{"-data", root, "-scorer", script, "-losses", "all"}, &b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"catA/s.csv", "catB/s.csv", "catC/s.csv", "catB (held out)", "window "} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	b.Reset()
	if err := runLOCO([]string{"-data", root, "-scorer", script, "-losses", "catB"}, &b); err != nil ||
		strings.Contains(b.String(), "catA (held out)") || !strings.Contains(b.String(), "catB (held out)") {
		t.Errorf("-losses catB: %v\n%s", err, b.String())
	}
	for _, args := range [][]string{
		{"-losses", "all", "-test"},
		{"-losses", "catD"},
	} {
		if err := runLOCO(append([]string{"-data", root, "-scorer", script}, args...), &b); err == nil {
			t.Errorf("loco %q succeeded, want an error", args)
		}
	}
}
