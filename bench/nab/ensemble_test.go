package main

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// The inputs are the amended rule's: the series as read and seven late starts.
func TestEnsembleStartsAreTheRules(t *testing.T) {
	if got := fmt.Sprint(ensembleStarts); got != "[0 1 2 3 5 8 13 21]" {
		t.Errorf("ensembleStarts %s, want [0 1 2 3 5 8 13 21]", got)
	}
}

// Every branch of the amended rule, at its boundaries: a gain of exactly +0.1 and exactly 2 SE
// is accepted, a hair less in either is not; a tie in the folds is not enough; a loss of exactly
// 0.1 and 2 SE is rejected, and more folds better do not save it; anything else is unresolved.
// A simplification is accepted unless the loss is resolved.
func TestJudge(t *testing.T) {
	cases := []struct {
		name          string
		gain, se      float64
		better, worse int
		simplify      bool
		want          string
	}{
		{"gain and 2 SE at the bar", 0.1, 0.05, 2, 1, false, verdictAccept},
		{"large gain, no SE", 3, 0, 1, 0, false, verdictAccept},
		{"gain under the bar", 0.0999999, 0, 5, 0, false, verdictUnresolved},
		{"gain under 2 SE", 0.1, 0.0500001, 5, 0, false, verdictUnresolved},
		{"large gain under 2 SE", 1, 0.6, 5, 0, false, verdictUnresolved},
		{"folds tied", 0.5, 0.1, 1, 1, false, verdictUnresolved},
		{"no fold moved", 0.5, 0.1, 0, 0, false, verdictUnresolved},
		{"more folds worse", 0.5, 0.1, 1, 2, false, verdictUnresolved},
		{"nothing moves", 0, 0, 0, 0, false, verdictUnresolved},
		{"loss and 2 SE at the bar", -0.1, 0.05, 0, 1, false, verdictReject},
		{"resolved loss, folds better", -3, 0.1, 5, 0, false, verdictReject},
		{"loss under the bar", -0.0999999, 0, 0, 5, false, verdictUnresolved},
		{"loss under 2 SE", -0.1, 0.0500001, 0, 5, false, verdictUnresolved},
		{"large loss under 2 SE", -1, 0.6, 0, 5, false, verdictUnresolved},
		{"simplification, nothing moves", 0, 0, 0, 0, true, verdictAccept},
		{"simplification, unresolved loss", -1, 0.6, 0, 5, true, verdictAccept},
		{"simplification, loss under the bar", -0.0999999, 0, 0, 5, true, verdictAccept},
		{"simplification, gain with folds worse", 1, 0, 0, 3, true, verdictAccept},
		{"simplification, resolved loss at the bar", -0.1, 0.05, 0, 0, true, verdictReject},
	}
	for _, c := range cases {
		if got := judge(c.gain, c.se, c.better, c.worse, c.simplify); got != c.want {
			t.Errorf("%s: judge(%v, %v, %d, %d, %v) = %s, want %s", c.name, c.gain, c.se, c.better, c.worse, c.simplify, got, c.want)
		}
	}
}

// The gain is the mean of the differences and the SE their sample sd over √n.
func TestGainSE(t *testing.T) {
	g, se := gainSE([]float64{1, 2, 3, 4, 5, 6, 7, 8})
	// sample variance of 1..8 = 6
	if math.Abs(g-4.5) > 1e-12 || math.Abs(se-math.Sqrt(6)/math.Sqrt(8)) > 1e-12 {
		t.Errorf("gainSE(1..8) = %v, %v; want 4.5, %v", g, se, math.Sqrt(6.0/8))
	}
	if g, se := gainSE([]float64{0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3}); math.Abs(g-0.3) > 1e-12 || se != 0 {
		t.Errorf("gainSE of equal differences = %v, %v; want 0.3, 0", g, se)
	}
}

// testEnsemble builds an ensemble on folds x and y (windowed) and z (no windows, judged by its raw
// score): on input i, x scores x(i), y y(i) and z's raw score is z(i); the pooled standard score
// is (x + y)/2, read from the raw scores.
func testEnsemble(x, y, z func(i int) float64) ensembleRun {
	fold := func(s *float64, raw, null, perfect float64) scoreRun {
		pr := profileResult{Score: s, Raw: raw, Null: null, Perfect: perfect}
		return scoreRun{Profiles: map[string]profileResult{profiles[0]: pr, profiles[1]: pr, profiles[2]: pr}}
	}
	e := ensembleRun{Kind: ensembleKind}
	for i, k := range ensembleStarts {
		// A fold's score s is raw s with null 0 and perfect 100, so the pooled score is their mean.
		e.Inputs = append(e.Inputs, ensembleInput{Start: k, Run: locoRun{Set: "D", Version: saveVersion, Folds: map[string]scoreRun{
			"x": fold(score(x(i)), x(i), 0, 100),
			"y": fold(score(y(i)), y(i), 0, 100),
			"z": fold(nil, z(i), 0, 0),
		}}})
	}
	return e
}

// The verdict is the amended rule's on the ensemble: the gain and SE from the per-input
// differences, and the folds counted on their mean over the inputs, so that one input's move of
// a fold does not count when its mean moves less than the bar.
func TestEnsembleVerdict(t *testing.T) {
	c := func(v float64) func(int) float64 { return func(int) float64 { return v } }
	base := testEnsemble(c(50), c(50), c(-0.44))
	cats := []string{"x", "y", "z"}
	cases := []struct {
		name     string
		cur      ensembleRun
		simplify bool
		want     string
	}{
		// x +0.7 on one late start only (mean over the seven +0.1 minus a hair: not counted), y +0.2 everywhere, z's raw
		// −0.02 everywhere: folds 1 better, 1 worse; gain 0.14 with SE 0.05.
		{"one input's move is not a fold's", testEnsemble(func(i int) float64 {
			if i == 1 {
				return 50.6999
			}
			return 50
		}, c(50.2), c(-0.46)), false, "UNRESOLVED (gain +0.14"},
		// k = 0 is printed, not counted: a form that differs from its base only there has no gain.
		{"k=0 not counted", testEnsemble(func(i int) float64 {
			if i == 0 {
				return 60
			}
			return 50
		}, c(50), c(-0.44)), false, "UNRESOLVED (gain +0.00, 2 SE 0.00; 0 folds better, 0 worse"},
		{"mean fold moves counted", testEnsemble(c(50.2), c(50.2), c(-0.42)), false, "ACCEPT (gain +0.21, 2 SE 0.00; 3 folds better, 0 worse"},
		{"gain inside its SE", testEnsemble(func(i int) float64 { return 50 + float64(i%2)*4 - 1.5 }, c(50), c(-0.44)), false, "UNRESOLVED"},
		{"resolved loss", testEnsemble(c(49), c(49.8), c(-0.44)), false, "REJECT (gain -0.60"},
		{"simplification, unresolved loss", testEnsemble(func(i int) float64 { return 50 - float64(i%2)*4 + 1.5 }, c(50), c(-0.44)), true,
			"verdict (simplification) (the amended rule, round 112): ACCEPT"},
		{"simplification, resolved loss", testEnsemble(c(49), c(49.8), c(-0.44)), true, "REJECT"},
	}
	for _, tc := range cases {
		var b strings.Builder
		ensembleVerdict(&b, base, tc.cur, cats, tc.simplify)
		if !strings.Contains(b.String(), tc.want) {
			t.Errorf("%s: want %q in\n%s", tc.name, tc.want, b.String())
		}
	}
}

// An ensemble file round-trips; a single run saved by `loco -save` is refused as an ensemble's
// base, an ensemble as a single run's base, and an ensemble of other inputs too, each saying
// what to do.
func TestEnsembleFileFormat(t *testing.T) {
	dir := t.TempDir()
	c := func(v float64) func(int) float64 { return func(int) float64 { return v } }
	ens := testEnsemble(c(50), c(50), c(-0.44))
	ensPath, singlePath, otherPath := filepath.Join(dir, "ens.json"), filepath.Join(dir, "single.json"), filepath.Join(dir, "other.json")
	if err := writeJSON(ensPath, ens); err != nil {
		t.Fatal(err)
	}
	if err := writeJSON(singlePath, ens.Inputs[0].Run); err != nil {
		t.Fatal(err)
	}
	other := ens
	other.Inputs = ens.Inputs[:3]
	if err := writeJSON(otherPath, other); err != nil {
		t.Fatal(err)
	}

	got, err := readEnsemble(ensPath)
	if err != nil {
		t.Fatalf("readEnsemble of a saved ensemble: %v", err)
	}
	if len(got.Inputs) != len(ensembleStarts) || foldScore(got.Inputs[7].Run, "x") != 50 || got.Inputs[7].Start != 21 {
		t.Errorf("ensemble did not round-trip: %+v", got)
	}
	if _, err := readEnsemble(singlePath); err == nil || !strings.Contains(err.Error(), "loco -ensemble -save") {
		t.Errorf("readEnsemble of a single run: %v, want a refusal naming loco -ensemble -save", err)
	}
	if _, err := readEnsemble(otherPath); err == nil || !strings.Contains(err.Error(), "k=[0 1 2]") {
		t.Errorf("readEnsemble of other inputs: %v, want a refusal naming them", err)
	}
	if _, err := readRun(ensPath); err == nil || !strings.Contains(err.Error(), "loco -ensemble -against") {
		t.Errorf("readRun of an ensemble: %v, want a refusal naming loco -ensemble -against", err)
	}
	if _, err := readRun(singlePath); err != nil {
		t.Errorf("readRun of a single run: %v", err)
	}

	// Through the command: the base is read before anything runs, so the refusal comes at once.
	var b strings.Builder
	err = runLOCO([]string{"-data", dir, "-ensemble", "-against", singlePath}, &b)
	if err == nil || !strings.Contains(err.Error(), "not a start ensemble") {
		t.Errorf("loco -ensemble -against a single run: %v", err)
	}
}

// The ensemble is LOCO on D for decisions: T and all 46 are refused, and so are one run's
// printouts, before anything is read.
func TestEnsembleRefusals(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want error
	}{
		{[]string{"-test"}, errEnsembleOnT},
		{[]string{"-all"}, errEnsembleOnT},
		{[]string{"-losses", "all"}, errEnsembleOneRun},
		{[]string{"-per-file"}, errEnsembleOneRun},
		{[]string{"-out", dir}, errEnsembleOneRun},
	} {
		args := append([]string{"-data", dir, "-ensemble"}, c.args...)
		var b strings.Builder
		if err := runLOCO(args, &b); !errors.Is(err, c.want) {
			t.Errorf("loco %q = %v, want %v", args, err, c.want)
		}
	}
}
