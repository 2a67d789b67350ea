package main

import (
	"math"
	"strings"
	"testing"
)

// The split is stratified (every category keeps series in D and gives some to T) and
// mechanical (the same labels always give the same T).
func TestSplitIsStratifiedAndFixed(t *testing.T) {
	labels := labelSet{}
	for c, n := range map[string]int{"a": 4, "b": 14, "c": 1, "d": 5} {
		for i := range n {
			labels[c+"/s"+string(rune('A'+i))+".csv"] = nil
		}
	}
	test := split(labels)
	per := map[string]int{}
	for k := range test {
		per[category(k)]++
	}
	if per["a"] != 1 || per["b"] != 2 || per["d"] != 1 {
		t.Errorf("test series per category %v, want a:1 b:2 d:1", per)
	}
	if per["c"] != 0 {
		t.Errorf("a category of one series gave it to T: %v", per)
	}
	again := split(labels)
	for k := range test {
		if !again[k] {
			t.Fatalf("split is not deterministic: %s", k)
		}
	}
}

func score(v float64) *float64 { return &v }

// The verdict on a change needs both a pooled gain and more folds better than worse; on a
// simplification, a pooled loss under the margin and no more folds worse than better. A fold
// without windows is judged by its raw score.
func TestVerdict(t *testing.T) {
	fold := func(s *float64, raw, null, perfect float64) scoreRun {
		pr := profileResult{Score: s, Raw: raw, Null: null, Perfect: perfect}
		return scoreRun{Profiles: map[string]profileResult{profiles[0]: pr, profiles[1]: pr, profiles[2]: pr}}
	}
	base := locoRun{Set: "D", Folds: map[string]scoreRun{
		"x": fold(score(50), 0, -10, 10),
		"y": fold(score(50), 0, -10, 10),
		"z": fold(nil, -0.44, 0, 0),
	}}
	// 100 (Σraw − Σnull) / (Σperfect − Σnull) = 100 (−0.44 + 20) / 40
	if p := base.pooled(profiles[0]); math.Abs(p-48.9) > 1e-9 {
		t.Fatalf("pooled %v, want 48.9", p)
	}
	cases := []struct {
		name     string
		cur      locoRun
		simplify bool
		want     string
	}{
		{"all better", locoRun{Set: "D", Folds: map[string]scoreRun{
			"x": fold(score(55), 1, -10, 10), "y": fold(score(55), 1, -10, 10), "z": fold(nil, -0.22, 0, 0)}}, false, "ACCEPT"},
		{"pooled up, most folds down", locoRun{Set: "D", Folds: map[string]scoreRun{
			"x": fold(score(90), 8, -10, 10), "y": fold(score(45), -1, -10, 10), "z": fold(nil, -0.66, 0, 0)}}, false, "REJECT"},
		{"folds up, pooled flat", locoRun{Set: "D", Folds: map[string]scoreRun{
			"x": fold(score(50), 0, -10, 10), "y": fold(score(50), 0, -10, 10), "z": fold(nil, -0.43, 0, 0)}}, false, "REJECT"},
		// A simplification that changes nothing, or costs a little on no fold, goes.
		{"simplification, nothing moves", base, true, "ACCEPT"},
		{"simplification, pooled down 0.05, one fold down and one up", locoRun{Set: "D", Folds: map[string]scoreRun{
			"x": fold(score(50.5), 0.2, -10, 10), "y": fold(score(49.5), -0.22, -10, 10), "z": fold(nil, -0.44, 0, 0)}}, true, "ACCEPT"},
		{"simplification, pooled down 0.05, one fold down", locoRun{Set: "D", Folds: map[string]scoreRun{
			"x": fold(score(50), 0, -10, 10), "y": fold(score(49.5), -0.02, -10, 10), "z": fold(nil, -0.44, 0, 0)}}, true, "REJECT"},
		{"simplification, pooled down 0.2", locoRun{Set: "D", Folds: map[string]scoreRun{
			"x": fold(score(52), 0.3, -10, 10), "y": fold(score(48), -0.38, -10, 10), "z": fold(nil, -0.44, 0, 0)}}, true, "REJECT"},
	}
	for _, c := range cases {
		var b strings.Builder
		verdict(&b, base, c.cur, []string{"x", "y", "z"}, c.simplify)
		if !strings.Contains(b.String(), c.want) || !strings.Contains(b.String(), "verdict") {
			t.Errorf("%s: %s", c.name, b.String())
		}
	}
}
