package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// locoRun is a saved LOCO evaluation: the held-out scoring of every fold.
//
// Each fold's thresholds (what nabscore's sweep chose on the other categories) have been
// saved since the first version; from saveVersion 2 the standard profile also keeps each D
// series' result, so that a later run can say which series moved (diagnose.go). T's series
// are never kept.
type locoRun struct {
	Set     string              `json:"set"`               // "D" (development set) or "all"
	Version int                 `json:"version,omitempty"` // 0: saved before per-series results
	Folds   map[string]scoreRun `json:"folds"`
}

// saveVersion is the version -save writes.
const saveVersion = 2

// pooled returns the pooled normalised score of a profile over every fold:
// 100 (Σ raw − Σ null) / (Σ perfect − Σ null).
func (r locoRun) pooled(profile string) float64 {
	var raw, null, perfect float64
	for _, f := range r.Folds {
		p := f.Profiles[profile]
		raw += p.Raw
		null += p.Null
		perfect += p.Perfect
	}
	return 100 * (raw - null) / (perfect - null)
}

// runLOCO is the `loco` subcommand: run the detector over the dev set, score it by
// leave-one-category-out (or score the internal test subset), print the table, and optionally
// save it or compare it with a saved run.
func runLOCO(args []string, stdout io.Writer) error {
	fset := flag.NewFlagSet("nab loco", flag.ContinueOnError)
	dataDir := fset.String("data", "", "NAB root holding data/ and labels/windows_dev.json (required)")
	script := fset.String("scorer", "", "nabscore.py (default: DATA/../../tools/nab/nabscore.py)")
	outDir := fset.String("out", "", "keep the results files here (default: a temporary directory)")
	save := fset.String("save", "", "save the run as JSON to this file")
	against := fset.String("against", "", "compare with a run saved by -save and print the decision rule's verdict")
	all := fset.Bool("all", false, "LOCO over all 46 series (D and T): the final report only")
	lookT := fset.Bool("test", false, "score the internal test subset T with thresholds from D (a logged look)")
	perFile := fset.Bool("per-file", false, "print each held-out series' standard-profile result (never T's)")
	losses := fset.String("losses", "", "print what each held-out D series of these categories (comma-separated, or \"all\") "+
		"loses at its fold's standard threshold, row by row, with the channel that spoke (never T's)")
	simplify := fset.Bool("simplify", false, "with -against: the run removes or merges a component; judge it by the simplification clause")
	jobs := fset.Int("jobs", 2, "nabscore processes at once")
	ensemble := fset.Bool("ensemble", false, "run LOCO on D on the start ensemble (the amended rule, round 112); with -against, judge it against a saved ensemble")
	det := detectorFlags(fset)
	if err := fset.Parse(args); err != nil {
		return err
	}
	switch {
	case *dataDir == "":
		return errors.New("-data is required")
	case *all && *lookT:
		return errors.New("-all and -test exclude each other")
	case *jobs < 1:
		return errors.New("-jobs must be at least 1")
	case *losses != "" && *lookT:
		return errLossesOnT
	}
	spec, err := det.config()
	if err != nil {
		return err
	}
	if *ensemble {
		switch {
		case *all || *lookT:
			return errEnsembleOnT
		case *losses != "" || *perFile || *outDir != "":
			return errEnsembleOneRun
		}
		if *script == "" {
			*script = filepath.Join(*dataDir, "..", "..", "tools", "nab", "nabscore.py")
		}
		return runEnsemble(stdout, spec, *dataDir, *script, *save, *against, *simplify, *jobs)
	}
	var base *locoRun
	if *against != "" {
		// Read before the run, so that a bad file fails in a second, not after the scoring.
		if base, err = readRun(*against); err != nil {
			return err
		}
	}
	if *script == "" {
		*script = filepath.Join(*dataDir, "..", "..", "tools", "nab", "nabscore.py")
	}
	labels, test, dev, err := readSplit(*dataDir)
	if err != nil {
		return err
	}
	tset := labels.filter(func(k string) bool { return test[k] })
	var lossCats []string
	if *losses != "" {
		// Resolved before the run, so that a misspelt category fails in a second.
		if lossCats, err = lossCategories(*losses, dev); err != nil {
			return err
		}
	}

	tmp, err := os.MkdirTemp("", "nab-loco-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	results := *outDir
	if results == "" {
		results = filepath.Join(tmp, "results")
	}
	run := dev
	if *all || *lookT {
		run = labels
	}
	keys := make([]string, 0, len(run))
	for k := range run {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	began := time.Now()
	points, err := writeAll(spec, filepath.Join(*dataDir, "data"), results, keys)
	if err != nil {
		return err
	}
	detectSecs := time.Since(began).Seconds()
	sc := &scorer{script: *script, data: filepath.Join(*dataDir, "data"), results: results, tmp: tmp}

	if *lookT {
		r, err := sc.score("test", tset, dev, false)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "internal test subset T (%v), thresholds from D (%v); log this look in DECISIONS.md\n\n", tset, dev)
		printRow(stdout, "T", len(tset), tset.windows(), r)
		return nil
	}

	set, scored := "D", dev
	if *all {
		set, scored = "all", labels
	}
	cats := scored.categories()
	// Per-series results are always asked for (they cost nabscore nothing worth measuring):
	// -save keeps D's, and the diff against a base reads them.
	folds, err := eachFold(cats, *jobs, func(c string) (scoreRun, error) {
		held := scored.filter(func(k string) bool { return category(k) == c })
		from := scored.filter(func(k string) bool { return category(k) != c })
		return sc.score(c, held, from, true)
	})
	if err != nil {
		return err
	}
	loco := locoRun{Set: set, Version: saveVersion, Folds: folds}
	loco.keepFiles(func(k string) bool { return !test[k] })

	fmt.Fprintf(stdout, "LOCO on %s (%v): %d points, detector %.2fs, total %.1fs\n\n",
		set, scored, points, detectSecs, time.Since(began).Seconds())
	printTable(stdout, scored, cats, loco)
	if *perFile {
		printFiles(stdout, loco, cats)
	}
	if lossCats != nil {
		// dev, not scored: with -all the folds hold T's series too, and they are not printed.
		if err := printLosses(stdout, spec, *dataDir, dev, loco, lossCats); err != nil {
			return err
		}
	}
	if *save != "" {
		if err := writeJSON(*save, loco); err != nil {
			return err
		}
	}
	if base == nil {
		return nil
	}
	if base.Set != loco.Set {
		return fmt.Errorf("%s is a run on set %s, this one on %s", *against, base.Set, loco.Set)
	}
	fmt.Fprintln(stdout)
	verdict(stdout, *base, loco, cats, *simplify)

	// The diagnostics: this run's scores at the base's thresholds, fold by fold, so that
	// what the form moves is seen apart from what its own sweep moves.
	fmt.Fprintf(stdout, "\n%s\n", diagnosticsHeader)
	thresholds, missing := base.thresholds(cats)
	if missing != "" {
		fmt.Fprintf(stdout, "at the base's thresholds: not computed: %s has no threshold for %s; "+
			"save the base again with this code (-save)\n", *against, missing)
		printSeriesDiff(stdout, *against, *base, loco, nil)
		return nil
	}
	fixed, err := eachFold(cats, *jobs, func(c string) (scoreRun, error) {
		held := scored.filter(func(k string) bool { return category(k) == c })
		return sc.scoreAt(c, held, thresholds[c])
	})
	if err != nil {
		return err
	}
	frozen := locoRun{Set: set, Version: saveVersion, Folds: fixed}
	frozen.keepFiles(func(k string) bool { return !test[k] })
	printSweepSplit(stdout, *base, frozen, loco, cats)
	printSeriesDiff(stdout, *against, *base, loco, &frozen)
	return nil
}

// eachFold runs score for every category, at most jobs at once, and returns the results by
// category.
func eachFold(cats []string, jobs int, score func(c string) (scoreRun, error)) (map[string]scoreRun, error) {
	out := make(map[string]scoreRun, len(cats))
	var mu sync.Mutex
	var errs []error
	sem := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	for _, c := range cats {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r, err := score(c)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			out[c] = r
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// keepFiles keeps per-series results only in the standard profile, and only for the series
// keep accepts: what -save writes and what -per-file and the diff may print.
func (r locoRun) keepFiles(keep func(key string) bool) {
	for c, f := range r.Folds {
		for p, pr := range f.Profiles {
			if p != profiles[0] {
				pr.Files = nil
			}
			for k := range pr.Files {
				if !keep(k) {
					delete(pr.Files, k)
				}
			}
			f.Profiles[p] = pr
		}
		r.Folds[c] = f
	}
}

// readRun reads a run saved by -save.
func readRun(path string) (*locoRun, error) {
	var r locoRun
	if err := readJSON(path, &r); err != nil {
		return nil, err
	}
	if len(r.Folds) == 0 {
		// An ensemble (or anything else) decodes into a run without folds; say what it is.
		return nil, fmt.Errorf("%s holds no single LOCO run (a start ensemble saved by loco -ensemble -save "+
			"is read by loco -ensemble -against)", path)
	}
	return &r, nil
}

// printRow prints one scored set: per profile its score (or its raw score when it has no
// windows) and its false-positive rows.
func printRow(w io.Writer, name string, files, windows int, r scoreRun) {
	cells := make([]any, 0, 3)
	for _, p := range profiles {
		pr := r.Profiles[p]
		if pr.Score == nil {
			cells = append(cells, fmt.Sprintf("raw %.3f (%d)", pr.Raw, pr.FPRows))
		} else {
			cells = append(cells, fmt.Sprintf("%.2f (%d)", *pr.Score, pr.FPRows))
		}
	}
	fmt.Fprintf(w, "%-22s %5d %4d  %-23s %-23s %-23s\n", append([]any{name, files, windows}, cells...)...)
}

// printFiles prints each held-out series' standard-profile raw score, windows hit and missed,
// and false-positive rows.
func printFiles(w io.Writer, r locoRun, cats []string) {
	fmt.Fprintf(w, "\n%-58s %8s %3s %3s %4s\n", "series (standard, held out)", "raw", "TP", "FN", "FP")
	for _, c := range cats {
		files := r.Folds[c].Profiles[profiles[0]].Files
		keys := make([]string, 0, len(files))
		for k := range files {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			f := files[k]
			fmt.Fprintf(w, "%-58s %8.3f %3d %3d %4d\n", k, f.Raw, f.TPWindows, f.FNWindows, f.FPRows)
		}
	}
}

// Fold thresholds of the decision rule (README.md): a fold changes when its standard score
// moves by minFoldMove, or, without windows, its raw score by minRawMove (a tenth of one false
// positive at full standard cost).
const (
	minPooledGain = 0.1
	minFoldMove   = 0.1
	minRawMove    = 0.011
)

// verdict prints the change of every fold and of the pooled score from base to cur, and the
// decision rule's verdict: for a change, a pooled gain of at least minPooledGain and more folds
// better than worse; for a simplification (a component removed or two merged: fewer knobs are
// worth a little), a pooled loss of less than minPooledGain and no more folds worse than
// better.
func verdict(w io.Writer, base, cur locoRun, cats []string, simplification bool) {
	p := profiles[0]
	better, worse := 0, 0
	var moves []string
	for _, c := range cats {
		b, n := base.Folds[c].Profiles[p], cur.Folds[c].Profiles[p]
		var d, lim float64
		var unit string
		if b.Score == nil || n.Score == nil {
			d, lim, unit = n.Raw-b.Raw, minRawMove, " raw"
		} else {
			d, lim = *n.Score-*b.Score, minFoldMove
		}
		switch {
		case d >= lim:
			better++
		case d <= -lim:
			worse++
		}
		moves = append(moves, fmt.Sprintf("%s %+.2f%s", strings.TrimPrefix(strings.TrimPrefix(c, "real"), "artificial"), d, unit))
	}
	dp := cur.pooled(p) - base.pooled(p)
	fmt.Fprintf(w, "against base: pooled standard %+.2f (low FP %+.2f, low FN %+.2f); folds: %s\n",
		dp, cur.pooled(profiles[1])-base.pooled(profiles[1]), cur.pooled(profiles[2])-base.pooled(profiles[2]),
		strings.Join(moves, ", "))
	ok := dp >= minPooledGain && better > worse
	need := fmt.Sprintf("need ≥ %+.1f", minPooledGain)
	folds := "need more better"
	kind := ""
	if simplification {
		ok = dp > -minPooledGain && worse <= better
		need = fmt.Sprintf("need > %+.1f", -minPooledGain)
		folds = "need no more worse"
		kind = " (simplification)"
	}
	word := "REJECT"
	if ok {
		word = "ACCEPT"
	}
	fmt.Fprintf(w, "verdict%s: %s (pooled %+.2f, %s; %d folds better, %d worse, %s)\n",
		kind, word, round2(dp), need, better, worse, folds)
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// readLabels reads a windows JSON.
func readLabels(path string) (labelSet, error) {
	var l labelSet
	if err := readJSON(path, &l); err != nil {
		return nil, err
	}
	return l, nil
}

// readJSON decodes the JSON file at path into v; a decoding error names the file.
func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// printTable prints a LOCO run's table: each held-out category of set, its files, windows and
// three profiles' scores with their false-positive rows, then the pooled scores.
func printTable(w io.Writer, set labelSet, cats []string, run locoRun) {
	fmt.Fprintf(w, "%-22s %5s %4s  %-23s %-23s %-23s\n", "held-out category", "files", "win",
		"standard (FP rows)", "low FP (FP rows)", "low FN (FP rows)")
	for _, c := range cats {
		held := set.filter(func(k string) bool { return category(k) == c })
		printRow(w, c, len(held), held.windows(), run.Folds[c])
	}
	fmt.Fprintf(w, "%-22s %5d %4d  %-23s %-23s %-23s\n", "pooled", len(set), set.windows(),
		fmt.Sprintf("%.2f", run.pooled(profiles[0])), fmt.Sprintf("%.2f", run.pooled(profiles[1])),
		fmt.Sprintf("%.2f", run.pooled(profiles[2])))
}
