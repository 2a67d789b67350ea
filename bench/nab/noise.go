package main

// The `noise` subcommand (round 109): LOCO on D under null perturbations of the input, changes
// that should not move the score, so that the decision rule's +0.1 bar can be read against how
// far the pooled score moves when nothing that matters changed (README.md, "The rule's noise
// floor").

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// perturbation is a change of the detector's input that should not matter. The zero value is
// none: the series as read.
//
// Timestamps are never perturbed: time of day and weekday are part of the model by design.
type perturbation struct {
	kind  string  // "", "scale", "start" or "jitter"
	scale float64 // scale: every value × scale (doc.go: Result.Score is scale-free)
	start int     // start: the detector fed from point start; the points before it score 0
	eps   float64 // jitter: every value × (1 + eps·u), u uniform in (−1, 1)
	seed  uint64  // jitter: the generator's seed, with the series' key
}

// nullPerturbations are the round's perturbations, fixed in its plan (ROUNDS.md, round 109)
// before any was run. Scale is listed first but is not part of the floor: the detector claims
// to be scale-free, so a move under it is a defect, not noise.
func nullPerturbations() []perturbation {
	var ps []perturbation
	for _, c := range []float64{1e-3, 10, 1e3} {
		ps = append(ps, perturbation{kind: "scale", scale: c})
	}
	// Every k lies well inside NAB's probationary 15% of the shortest D series, where nothing is
	// scored, so the skipped rows' zeros cost nothing.
	for _, k := range []int{1, 2, 3, 5, 8} {
		ps = append(ps, perturbation{kind: "start", start: k})
	}
	// NAB's values are rounded (a few significant digits): 1e-6 of a value breaks exact ties
	// and moves its last digits, nothing a user could see.
	for seed := uint64(1); seed <= 5; seed++ {
		ps = append(ps, perturbation{kind: "jitter", eps: 1e-6, seed: seed})
	}
	return ps
}

func (p perturbation) String() string {
	switch p.kind {
	case "scale":
		return fmt.Sprintf("scale ×%g", p.scale)
	case "start":
		return fmt.Sprintf("start k=%d", p.start)
	case "jitter":
		return fmt.Sprintf("jitter seed %d", p.seed)
	}
	return "unperturbed"
}

// apply returns the input the detector is fed for the series with key, and how many leading
// points it skips (their scores are written as 0). series is not modified; with no
// perturbation it is returned as is.
func (p perturbation) apply(key string, series []point) ([]point, int) {
	switch p.kind {
	case "scale":
		out := append([]point(nil), series...)
		for i := range out {
			out[i].v *= p.scale
		}
		return out, 0
	case "start":
		return series, min(p.start, len(series))
	case "jitter":
		// One generator per series, seeded by the run's seed and the series' key, so a series'
		// jitter does not depend on which other series the run holds or their order.
		r := rand.New(rand.NewPCG(p.seed, fnv64(key)))
		out := append([]point(nil), series...)
		for i := range out {
			u := 2*r.Float64() - 1 // [−1, 1); −1 itself has probability 2^−53
			out[i].v *= 1 + p.eps*u
		}
		return out, 0
	}
	return series, 0
}

// errNoiseOnT refuses the noise command on T or on all 46: the floor is measured where the
// decisions are taken, and T is looked at only as the protocol says.
var errNoiseOnT = errors.New("noise runs LOCO on D only: -all and -test are refused")

// noiseRun is one LOCO run on D under one perturbation.
type noiseRun struct {
	Perturbation string  `json:"perturbation"`
	Run          locoRun `json:"run"`
}

// runNoise is the `noise` subcommand: LOCO on D unperturbed, then under every null
// perturbation, one run at a time; it prints the scores, their differences from the
// unperturbed run, and their spread.
func runNoise(args []string, stdout io.Writer) error {
	fset := flag.NewFlagSet("nab noise", flag.ContinueOnError)
	fset.Usage = func() {
		fmt.Fprint(fset.Output(), `usage: nab noise -data NAB [-save FILE] [-only scale,start,jitter]

Runs LOCO on D (never T) unperturbed and under null perturbations of the detector's input,
and prints per run the pooled standard / low FP / low FN and every fold's standard score, the
difference from the unperturbed run, and the spread (min, max, sample standard deviation) of the
pooled standard score and of each fold's, per kind and over start and jitter together (the floor):

  scale   every value × c, c in {1e-3, 10, 1e3} (the detector claims to be scale-free: a move
          here is a defect, not noise, and is not part of the floor)
  start   the detector fed from point k of each series, k in {1, 2, 3, 5, 8}; the first k rows
          are written with score 0 (inside NAB's probationary 15%)
  jitter  each value × (1 + 1e-6 u), u uniform in (−1, 1), seeds 1-5 (per series, seeded by the
          seed and the series' key)

Timestamps are never perturbed. Results files keep the values as read.

`)
		fset.PrintDefaults()
	}
	dataDir := fset.String("data", "", "NAB root holding data/ and labels/windows_dev.json (required)")
	script := fset.String("scorer", "", "nabscore.py (default: DATA/../../tools/nab/nabscore.py)")
	save := fset.String("save", "", "save every run (the unperturbed one first) as JSON to this file")
	only := fset.String("only", "", "run only these kinds (comma-separated: scale, start, jitter); the unperturbed run always runs")
	jobs := fset.Int("jobs", 2, "nabscore processes at once")
	all := fset.Bool("all", false, "refused: the floor is measured on D only")
	lookT := fset.Bool("test", false, "refused: the floor is measured on D only")
	det := detectorFlags(fset)
	if err := fset.Parse(args); err != nil {
		return err
	}
	switch {
	case *all || *lookT:
		return errNoiseOnT
	case *dataDir == "":
		return errors.New("-data is required")
	case *jobs < 1:
		return errors.New("-jobs must be at least 1")
	}
	spec, err := det.config()
	if err != nil {
		return err
	}
	perts, err := selectPerturbations(*only)
	if err != nil {
		return err
	}
	if *script == "" {
		*script = filepath.Join(*dataDir, "..", "..", "tools", "nab", "nabscore.py")
	}
	_, test, dev, err := readSplit(*dataDir)
	if err != nil {
		return err
	}
	cats := dev.categories()

	began := time.Now()
	runs := make([]noiseRun, 0, 1+len(perts))
	for _, p := range append([]perturbation{{}}, perts...) {
		s := spec
		s.perturb = p
		r, err := locoOnD(s, *dataDir, *script, dev, *jobs)
		if err != nil {
			return fmt.Errorf("%v: %w", p, err)
		}
		r.keepFiles(func(k string) bool { return !test[k] })
		runs = append(runs, noiseRun{Perturbation: p.String(), Run: r})
	}
	fmt.Fprintf(stdout, "LOCO on D (%v) under null perturbations of the input: %d runs in %.0fs\n\n",
		dev, len(runs), time.Since(began).Seconds())
	printNoise(stdout, runs, cats)
	if *save != "" {
		return writeJSON(*save, runs)
	}
	return nil
}

// selectPerturbations returns the null perturbations of the kinds listed (all when empty).
func selectPerturbations(only string) ([]perturbation, error) {
	all := nullPerturbations()
	if only == "" {
		return all, nil
	}
	want := map[string]bool{}
	for _, k := range strings.Split(only, ",") {
		if k != "scale" && k != "start" && k != "jitter" {
			return nil, fmt.Errorf("-only: unknown kind %q (want scale, start, jitter)", k)
		}
		want[k] = true
	}
	var out []perturbation
	for _, p := range all {
		if want[p.kind] {
			out = append(out, p)
		}
	}
	return out, nil
}

// locoOnD writes the detector's results for every D series under spec and scores each
// category with the thresholds chosen on the others, as `loco` does on D.
func locoOnD(spec detSpec, dataDir, script string, dev labelSet, jobs int) (locoRun, error) {
	tmp, err := os.MkdirTemp("", "nab-noise-")
	if err != nil {
		return locoRun{}, err
	}
	defer os.RemoveAll(tmp)
	keys := make([]string, 0, len(dev))
	for k := range dev {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	results := filepath.Join(tmp, "results")
	if _, err := writeAll(spec, filepath.Join(dataDir, "data"), results, keys); err != nil {
		return locoRun{}, err
	}
	sc := &scorer{script: script, data: filepath.Join(dataDir, "data"), results: results, tmp: tmp}
	folds, err := eachFold(dev.categories(), jobs, func(c string) (scoreRun, error) {
		held := dev.filter(func(k string) bool { return category(k) == c })
		from := dev.filter(func(k string) bool { return category(k) != c })
		return sc.score(c, held, from, true)
	})
	return locoRun{Set: "D", Version: saveVersion, Folds: folds}, err
}

// foldScore is a fold's standard score, or its raw score when it has no windows
// (artificialNoAnomaly), as the decision rule reads it.
func foldScore(r locoRun, c string) float64 {
	pr := r.Folds[c].Profiles[profiles[0]]
	if pr.Score == nil {
		return pr.Raw
	}
	return *pr.Score
}

// shortCat is a category's name without NAB's prefix, as the verdict line prints it.
func shortCat(c string) string {
	return strings.TrimPrefix(strings.TrimPrefix(c, "real"), "artificial")
}

// printNoise prints the runs (the first is the unperturbed one), their differences from it,
// and the spread per kind, over start and jitter together (the floor), and over every
// perturbed run.
func printNoise(w io.Writer, runs []noiseRun, cats []string) {
	// A fold's column is as wide as its name, so the columns line up under it.
	width := make([]int, len(cats))
	for i, c := range cats {
		width[i] = max(8, len(shortCat(c)))
	}
	header := func(first string) {
		fmt.Fprintf(w, "%-16s %8s %8s %8s", first, "standard", "low FP", "low FN")
		for i, c := range cats {
			fmt.Fprintf(w, " %*s", width[i], shortCat(c))
		}
		fmt.Fprintln(w)
	}
	row := func(name string, r locoRun, base *locoRun) {
		f := "%8.2f"
		var d func(get func(locoRun) float64) float64
		if base == nil {
			d = func(get func(locoRun) float64) float64 { return get(r) }
		} else {
			f = "%+8.2f"
			d = func(get func(locoRun) float64) float64 { return get(r) - get(*base) }
		}
		fmt.Fprint(w, padRight(name, 16))
		for _, p := range profiles {
			fmt.Fprintf(w, " "+f, d(func(x locoRun) float64 { return x.pooled(p) }))
		}
		for i, c := range cats {
			ff := strings.Replace(f, "8", "*", 1)
			if r.Folds[c].Profiles[profiles[0]].Score == nil {
				ff = strings.Replace(ff, ".2f", ".3f", 1) // a raw score: a false positive costs 0.11
			}
			fmt.Fprintf(w, " "+ff, width[i], d(func(x locoRun) float64 { return foldScore(x, c) }))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "scores (pooled; folds standard; NoAnomaly its raw score)")
	header("run")
	for _, r := range runs {
		row(r.Perturbation, r.Run, nil)
	}
	base := runs[0].Run
	fmt.Fprintf(w, "\ndifference from the unperturbed run\n")
	header("run")
	for _, r := range runs[1:] {
		row(r.Perturbation, r.Run, &base)
	}

	groups := []struct {
		name  string
		kinds []string
	}{
		{"scale", []string{"scale"}},
		{"start", []string{"start"}},
		{"jitter", []string{"jitter"}},
		{"floor (start+jitter)", []string{"start", "jitter"}},
		{"every perturbation", []string{"scale", "start", "jitter"}},
	}
	fmt.Fprintf(w, "\nspread of the standard score: min / max / sd (sample) over the group's runs, the unperturbed run not included\n")
	for _, g := range groups {
		var sel []locoRun
		for _, r := range runs[1:] {
			for _, k := range g.kinds {
				if strings.HasPrefix(r.Perturbation, k+" ") {
					sel = append(sel, r.Run)
				}
			}
		}
		if len(sel) == 0 {
			continue
		}
		fmt.Fprintf(w, "%s (n=%d)\n", g.name, len(sel))
		printSpread(w, "  pooled", sel, func(r locoRun) float64 { return r.pooled(profiles[0]) }, base.pooled(profiles[0]))
		for _, c := range cats {
			printSpread(w, "  "+shortCat(c), sel, func(r locoRun) float64 { return foldScore(r, c) }, foldScore(base, c))
		}
	}
}

// padRight pads s with spaces to n characters (not bytes: "×" is two).
func padRight(s string, n int) string {
	return s + strings.Repeat(" ", max(0, n-utf8.RuneCountInString(s)))
}

// printSpread prints one quantity's min, max and sample standard deviation over runs, and the
// largest difference from the unperturbed value.
func printSpread(w io.Writer, name string, runs []locoRun, get func(locoRun) float64, base float64) {
	xs := make([]float64, len(runs))
	for i, r := range runs {
		xs[i] = get(r)
	}
	lo, hi, sd := spread(xs)
	fmt.Fprintf(w, "%-16s min %8.3f  max %8.3f  range %6.3f  sd %6.3f  largest |Δ| from unperturbed %6.3f\n",
		name, lo, hi, hi-lo, sd, math.Max(math.Abs(lo-base), math.Abs(hi-base)))
}

// spread returns the minimum, the maximum and the sample standard deviation (n − 1; 0 for a
// single value) of xs, which must not be empty.
func spread(xs []float64) (lo, hi, sd float64) {
	lo, hi = xs[0], xs[0]
	var sum float64
	for _, x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
		sum += x
	}
	if len(xs) < 2 {
		return lo, hi, 0
	}
	mean := sum / float64(len(xs))
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return lo, hi, math.Sqrt(ss / float64(len(xs)-1))
}
