package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The split's two parts add up to the move the verdict reads, fold by fold and pooled; the
// thresholds are printed before and after; a fold without windows is split on its raw score.
func TestSweepSplitAddsUp(t *testing.T) {
	fold := func(s *float64, thr, raw float64) scoreRun {
		pr := profileResult{Score: s, Threshold: &thr, Raw: raw, Null: -10, Perfect: 10}
		return scoreRun{Profiles: map[string]profileResult{profiles[0]: pr, profiles[1]: pr, profiles[2]: pr}}
	}
	base := locoRun{Set: "D", Folds: map[string]scoreRun{
		"x": fold(score(50), 0.4220, 0), "z": fold(nil, 0.4220, -0.11)}}
	frozen := locoRun{Set: "D", Folds: map[string]scoreRun{
		"x": fold(score(45), 0.4220, -1), "z": fold(nil, 0.4220, -0.22)}}
	cur := locoRun{Set: "D", Folds: map[string]scoreRun{
		"x": fold(score(52), 0.4368, 0.4), "z": fold(nil, 0.4368, 0)}}
	var b strings.Builder
	printSweepSplit(&b, base, frozen, cur, []string{"x", "z"})
	out := b.String()
	for _, want := range []string{
		"0.4220 → 0.4368",
		"-5.00      +7.00", // x: 50 → 45 at the base's thresholds → 52 with its own sweep
		"-0.110 raw +0.220 raw",
		"thresholds moved by the form's own sweep: 2 of 2 folds",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	// Pooled: 100 (Σraw + 20) / 40 over the two folds' raw scores.
	bp, fp, np := 100*(-0.11+20)/40, 100*(-1.22+20)/40, 100*(0.4+20)/40
	if want := fmt.Sprintf("%+10.2f %+10.2f", fp-bp, np-fp); !strings.Contains(out, "pooled standard") ||
		!strings.Contains(out, want) {
		t.Errorf("pooled split %q not in\n%s", want, out)
	}
}

// The per-series diff lists a series that moved with the form's own sweep or only at the
// base's thresholds, not one that did not move, and refuses a base saved without per-series
// results.
func TestSeriesDiff(t *testing.T) {
	run := func(files map[string]fileResult) locoRun {
		return locoRun{Set: "D", Version: saveVersion, Folds: map[string]scoreRun{
			"c": {Profiles: map[string]profileResult{profiles[0]: {Files: files}}}}}
	}
	same := fileResult{Raw: 1, TPWindows: 2, FNWindows: 0, FPRows: 3}
	base := run(map[string]fileResult{"c/same.csv": same, "c/sweep.csv": same, "c/form.csv": same})
	cur := run(map[string]fileResult{"c/same.csv": same, "c/sweep.csv": {Raw: 0.89, TPWindows: 2, FPRows: 4},
		"c/form.csv": same})
	frozen := run(map[string]fileResult{"c/same.csv": same, "c/sweep.csv": same,
		"c/form.csv": {Raw: -0.5, TPWindows: 1, FNWindows: 1, FPRows: 3}})
	var b strings.Builder
	printSeriesDiff(&b, "base.json", base, cur, &frozen)
	out := b.String()
	if strings.Contains(out, "c/same.csv") {
		t.Errorf("a series that did not move is listed:\n%s", out)
	}
	for _, want := range []string{
		"2 of 3 series; 1 at the base's thresholds, 1 only by the form's own sweep",
		"c/sweep.csv", "-0.110   +0    +1     +0.000   +0    +0",
		"c/form.csv", "+0.000   +0    +0     -1.500   -1    +0",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}

	old := base
	old.Version = 0
	b.Reset()
	printSeriesDiff(&b, "old.json", old, cur, &frozen)
	if !strings.Contains(b.String(), "not computed: old.json was saved without per-series results") {
		t.Errorf("a base without per-series results: %s", b.String())
	}
}

// keepFiles keeps only the standard profile's per-series results, and only the series it is
// told to keep (T's never are).
func TestKeepFiles(t *testing.T) {
	files := func() map[string]fileResult {
		return map[string]fileResult{"c/d.csv": {Raw: 1}, "c/t.csv": {Raw: 2}}
	}
	r := locoRun{Folds: map[string]scoreRun{"c": {Profiles: map[string]profileResult{
		profiles[0]: {Files: files()}, profiles[1]: {Files: files()}, profiles[2]: {Files: files()}}}}}
	r.keepFiles(func(k string) bool { return k != "c/t.csv" })
	got := r.Folds["c"].Profiles
	if len(got[profiles[0]].Files) != 1 || got[profiles[0]].Files["c/d.csv"].Raw != 1 {
		t.Errorf("standard files %v, want c/d.csv only", got[profiles[0]].Files)
	}
	if got[profiles[1]].Files != nil || got[profiles[2]].Files != nil {
		t.Errorf("other profiles keep files: %v, %v", got[profiles[1]].Files, got[profiles[2]].Files)
	}
}

// nabscorePath is the shared scorer, from bench/nab; tests that run it skip without it.
func nabscorePath(t *testing.T) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "tools", "nab", "nabscore.py")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("nabscore.py not found at %s", p)
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not on PATH")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// writeNAB writes a small NAB tree: three categories of one series each (so that the split
// gives none to T), a daily-ish cycle with noise, a bump outside the window and, in catB, a
// spike inside it. catC's series is a copy of catB's, so that catC's fold is scored at a
// threshold that is one of its own rows' scores: catB's spike, the only window to find on
// catA and catB.
func writeNAB(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	t0 := time.Date(2014, 2, 14, 0, 0, 0, 0, time.UTC)
	at := func(i int) string { return t0.Add(time.Duration(i) * 5 * time.Minute).Format(nabTime) }
	labels := labelSet{}
	var last string
	for ci, c := range []string{"catA", "catB", "catC"} {
		var b strings.Builder
		b.WriteString("timestamp,value\n")
		const rows = 2400
		ci := min(ci, 1) // catC: catB again
		seed := uint64(ci + 1)
		spike := 1500 + 200*ci
		for i := range rows {
			seed = seed*6364136223846793005 + 1442695040888963407
			noise := float64(seed>>40)/float64(1<<24) - 0.5
			v := 50 + 10*math.Sin(2*math.Pi*float64(i)/288) + 2*noise
			if i == spike && ci == 1 { // catA's window holds nothing
				v += 60
			}
			if i == 1000+300*ci { // an unlabelled bump: a false positive at some threshold
				v += 25
			}
			fmt.Fprintf(&b, "%s,%g\n", at(i), v)
		}
		path := filepath.Join(root, "data", c, "s.csv")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if c == "catC" && b.String() != last {
			t.Fatal("catC is not a copy of catB")
		}
		last = b.String()
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		labels[c+"/s.csv"] = [][2]string{{at(spike - 40), at(spike + 40)}}
	}
	if err := os.MkdirAll(filepath.Join(root, "labels"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := writeJSON(filepath.Join(root, "labels", "windows_dev.json"), labels); err != nil {
		t.Fatal(err)
	}
	return root
}

// With -against, loco prints the verdict as before, then the diagnostics. A run against its
// own save moves nothing at the base's thresholds: the thresholds survive the JSON exactly
// (each is a row's score, so one bit less would drop that row). A base saved by the old code
// (no version, no per-series results) still gives the split and says why the diff is missing;
// one without thresholds says the split needs them.
func TestLOCOAgainstPrintsDiagnostics(t *testing.T) {
	script := nabscorePath(t)
	root := writeNAB(t)
	dir := t.TempDir()
	basePath := filepath.Join(dir, "base.json")
	loco := func(extra ...string) string {
		t.Helper()
		var b strings.Builder
		args := append([]string{"-data", root, "-scorer", script}, extra...)
		if err := runLOCO(args, &b); err != nil {
			t.Fatalf("loco %q: %v", extra, err)
		}
		return b.String()
	}
	loco("-save", basePath)
	var saved locoRun
	b, err := os.ReadFile(basePath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &saved); err != nil {
		t.Fatal(err)
	}
	if saved.Version != saveVersion || len(seriesResults(saved)) != 3 {
		t.Fatalf("saved version %d with %d series' results, want %d and 3",
			saved.Version, len(seriesResults(saved)), saveVersion)
	}

	out := loco("-against", basePath)
	for _, want := range []string{
		"verdict: REJECT (pooled +0.00",
		diagnosticsHeader,
		"pooled standard",
		"what moved per series (standard, held out, D only): 0 of 3 series",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("against itself: no %q in\n%s", want, out)
		}
	}
	if i, j := strings.Index(out, "verdict:"), strings.Index(out, diagnosticsHeader); i < 0 || j < i {
		t.Errorf("the diagnostics do not follow the verdict:\n%s", out)
	}

	// Another detector altogether: series and thresholds move.
	out = loco("-against", basePath, "-detector", "cad")
	if strings.Contains(out, "0 of 3 series") || !strings.Contains(out, "at base's thresholds") {
		t.Errorf("a changed run: nothing listed as moved\n%s", out)
	}

	// The old layout: no version, no per-series results.
	saved.Version = 0
	saved.keepFiles(func(string) bool { return false })
	oldPath := filepath.Join(dir, "old.json")
	if err := writeJSON(oldPath, saved); err != nil {
		t.Fatal(err)
	}
	out = loco("-against", oldPath)
	if !strings.Contains(out, "pooled standard") ||
		!strings.Contains(out, "was saved without per-series results") {
		t.Errorf("an old base:\n%s", out)
	}

	for c, f := range saved.Folds {
		pr := f.Profiles[profiles[1]]
		pr.Threshold = nil
		f.Profiles[profiles[1]] = pr
		saved.Folds[c] = f
	}
	if err := writeJSON(oldPath, saved); err != nil {
		t.Fatal(err)
	}
	out = loco("-against", oldPath)
	if !strings.Contains(out, "at the base's thresholds: not computed") || !strings.Contains(out, "verdict:") {
		t.Errorf("a base without thresholds:\n%s", out)
	}
}
