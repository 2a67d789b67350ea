package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// What a form moves, apart from what the sweep moves.
//
// A decision compares two LOCO runs, each fold scored at thresholds its own run's sweep chose
// on the other categories. When a form changes scores anywhere in D, the six folds' sweeps move
// with it, and windows or rows that sit just at the threshold fall in or out at scores the form
// did not touch. Scoring the form's results at the base run's thresholds, fold by fold, splits
// each fold's move in two: from the base to the form at the base's thresholds (what the form's
// scores do), and from there to the form with its own sweep (what the moved thresholds do). The
// two add up to the move the decision rule reads. These are diagnostics: the rule stays the
// protocol's, on the re-swept scores.

// diagnosticsHeader opens the diagnostics, so that nobody reads them as the verdict.
const diagnosticsHeader = "diagnostics (they do not decide; the verdict above is the rule's):"

// thresholds returns each fold's thresholds by profile, or, when the saved run lacks one,
// which.
func (r locoRun) thresholds(cats []string) (map[string]map[string]float64, string) {
	out := make(map[string]map[string]float64, len(cats))
	for _, c := range cats {
		f, ok := r.Folds[c]
		if !ok {
			return nil, "fold " + c
		}
		out[c] = make(map[string]float64, len(profiles))
		for _, p := range profiles {
			t := f.Profiles[p].Threshold
			if t == nil {
				return nil, fmt.Sprintf("fold %s, profile %s", c, p)
			}
			out[c][p] = *t
		}
	}
	return out, ""
}

// printSweepSplit prints, per fold (standard profile) and pooled (every profile), the base,
// the form at the base's thresholds and the form with its own sweep, the two parts of the
// move, and each fold's standard threshold before and after.
func printSweepSplit(w io.Writer, base, frozen, cur locoRun, cats []string) {
	fmt.Fprintln(w, "the form at the base's thresholds beside the form with its own sweep (standard; "+
		"form = at the base's thresholds − base, sweep = own sweep − at the base's thresholds)")
	fmt.Fprintf(w, "%-22s %-17s  %-11s %-11s %-11s %10s %10s\n", "held-out category",
		"threshold", "base", "at base's", "own sweep", "form", "sweep")
	p := profiles[0]
	moved := 0
	for _, c := range cats {
		b, f, n := base.Folds[c].Profiles[p], frozen.Folds[c].Profiles[p], cur.Folds[c].Profiles[p]
		thr := "?"
		if b.Threshold != nil && n.Threshold != nil {
			thr = fmt.Sprintf("%.4f → %.4f", *b.Threshold, *n.Threshold)
			if *b.Threshold != *n.Threshold {
				moved++
			}
		}
		var form, sweep string
		if b.Score == nil || f.Score == nil || n.Score == nil {
			form, sweep = fmt.Sprintf("%+.3f raw", f.Raw-b.Raw), fmt.Sprintf("%+.3f raw", n.Raw-f.Raw)
		} else {
			form, sweep = fmt.Sprintf("%+.2f", *f.Score-*b.Score), fmt.Sprintf("%+.2f", *n.Score-*f.Score)
		}
		fmt.Fprintf(w, "%-22s %-17s  %-11s %-11s %-11s %10s %10s\n", c, thr,
			cell(b), cell(f), cell(n), form, sweep)
	}
	for i, p := range profiles {
		name := "pooled " + []string{"standard", "low FP", "low FN"}[i]
		bp, fp, np := base.pooled(p), frozen.pooled(p), cur.pooled(p)
		fmt.Fprintf(w, "%-22s %-17s  %-11.2f %-11.2f %-11.2f %+10.2f %+10.2f\n", name, "",
			bp, fp, np, fp-bp, np-fp)
	}
	fmt.Fprintf(w, "standard thresholds moved by the form's own sweep: %d of %d folds\n", moved, len(cats))
}

// cell is a fold's standard result: its score, or its raw score when it has no windows.
func cell(r profileResult) string {
	if r.Score == nil {
		return fmt.Sprintf("raw %.3f", r.Raw)
	}
	return fmt.Sprintf("%.2f", *r.Score)
}

// printSeriesDiff prints the held-out D series whose standard result (raw score, windows
// found, false-positive rows) differs from the base's, with the form's own sweep and, when
// frozen is not nil, at the base's thresholds. A base saved before per-series results were
// kept cannot be compared; the line says so.
func printSeriesDiff(w io.Writer, path string, base, cur locoRun, frozen *locoRun) {
	fmt.Fprintln(w)
	if base.Version < saveVersion {
		fmt.Fprintf(w, "what moved per series: not computed: %s was saved without per-series results "+
			"(before version %d); save the base again with this code (-save)\n", path, saveVersion)
		return
	}
	b, n := seriesResults(base), seriesResults(cur)
	var f map[string]fileResult
	if frozen != nil {
		f = seriesResults(*frozen)
	}
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var rows []string
	atBase, ownOnly := 0, 0
	for _, k := range keys {
		bk, ok := b[k]
		if !ok {
			continue // a series the base did not score (another label file): nothing to diff
		}
		nk, fk := n[k], f[k]
		frozenMoved := frozen != nil && fk != bk
		if nk == bk && !frozenMoved {
			continue
		}
		if frozenMoved {
			atBase++
		} else {
			ownOnly++
		}
		at := fmt.Sprintf("%8s %4s %5s", "-", "-", "-")
		if frozen != nil {
			at = moves(bk, fk)
		}
		rows = append(rows, fmt.Sprintf("%-58s %8.3f  %s   %s", k, bk.Raw, moves(bk, nk), at))
	}
	fmt.Fprintf(w, "what moved per series (standard, held out, D only): %d of %d series; "+
		"%d at the base's thresholds, %d only by the form's own sweep\n", len(rows), len(keys), atBase, ownOnly)
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(w, "%-58s %8s  %-19s   %-19s\n", "", "", "own sweep", "at base's thresholds")
	fmt.Fprintf(w, "%-58s %8s  %8s %4s %5s   %8s %4s %5s\n", "series", "base raw",
		"Δraw", "win", "rows", "Δraw", "win", "rows")
	fmt.Fprintln(w, strings.Join(rows, "\n"))
}

// moves is the change of one series' result: raw score, windows found (gained > 0, lost < 0)
// and false-positive rows (added > 0, removed < 0).
func moves(b, n fileResult) string {
	return fmt.Sprintf("%+8.3f %+4d %+5d", n.Raw-b.Raw, n.TPWindows-b.TPWindows, n.FPRows-b.FPRows)
}

// seriesResults gathers a run's per-series standard results over its folds.
func seriesResults(r locoRun) map[string]fileResult {
	out := map[string]fileResult{}
	for _, f := range r.Folds {
		for k, v := range f.Profiles[profiles[0]].Files {
			out[k] = v
		}
	}
	return out
}
