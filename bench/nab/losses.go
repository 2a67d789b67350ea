package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/weirstream/weir/pipeline/anomaly"
)

// What each held-out series loses, and where (round 46).
//
// A fold's score says how much a category loses, not where or why. nabscore prices every row
// after a file's probation: a window's first detection is worth sig(−(R − i + 1)/W)/sig(−1) (1
// on the window's first row, 0.86 at its centre, where NAB's labelled point lies, 0 past its
// end), a window without one −1, and every detection outside the windows costs the profile's
// A_FP times sig(distance past the last window, in that window's widths), the full A_FP before
// any window. `loco -losses` prices the standard profile the same way at each fold's own
// threshold, and splits each file's distance from a perfect detector into the parts a round can
// act on: late (1 − the worth of each found window), missed (2 a window: −1 where +1 was
// possible) and rows (what the false positives cost), with the time, score and channel
// (Result.Reason) of every detection it counts. Each file's sum is checked against nabscore's
// own raw score for it, so the printout cannot drift from the scorer. It prints D's series
// only: T's are never priced, whatever the run.

// The standard profile's weights (nabscore.py's DEFAULT_PROFILES).
const (
	stdTP = 1.0
	stdFP = 0.11
	stdFN = 1.0
)

// Probation as nabscore has it: the first min(⌊0.15 n⌋, 0.15 · 5000) rows are not scored.
const (
	probationShare = 0.15
	probationCap   = probationShare * 5000
)

// labelTime is the timestamp layout of NAB's label files.
const labelTime = "2006-01-02 15:04:05.000000"

// scaledSigmoid is NAB's scoring function, its operations in nabscore's order so that the
// values are the scorer's to the bit.
func scaledSigmoid(y float64) float64 {
	if y > 3 {
		return -1
	}
	return 2*(1/(1+math.Exp(5*y))) - 1
}

// pricedRow is one detection (a row at or above the threshold after the probation), or, for a
// window that was missed, the best-scoring row inside it.
type pricedRow struct {
	i     int
	at    time.Time
	score float64
	why   anomaly.Reason
	worth float64 // a window's first detection: its share of the window; a false positive: its cost (≤ 0)
}

// pricedWindow is one window that has rows after the probation.
type pricedWindow struct {
	from, to time.Time
	rows     int
	found    bool
	first    pricedRow // the first detection inside, when found
	best     pricedRow // the best-scoring row inside, when not (score 0: none scored)
	left     int       // the window's first row
}

// fileLosses is one series priced at one threshold.
type fileLosses struct {
	windows []pricedWindow
	rows    []pricedRow // false positives, in order
	late    float64     // Σ (1 − worth) over found windows
	missed  float64     // 2 per missed window
	fp      float64     // −Σ cost over false positives
	raw     float64     // nabscore's raw score: Σ worth of found windows − missed windows + Σ cost
}

// priceFile prices a series' scores at thr under the standard profile, walking the rows as
// nabscore.py does. why may be nil (a detector without reasons).
func priceFile(series []point, scores []float64, why []anomaly.Reason, windows [][2]string, thr float64) (fileLosses, error) {
	type span struct {
		from, to time.Time
		l, r     int
	}
	spans := make([]span, len(windows))
	for k, w := range windows {
		from, err := parseLabelTime(w[0])
		if err != nil {
			return fileLosses{}, err
		}
		to, err := parseLabelTime(w[1])
		if err != nil {
			return fileLosses{}, err
		}
		spans[k] = span{from: from, to: to, l: -1, r: -1}
		for i, p := range series {
			if spans[k].l < 0 && p.t.Equal(from) {
				spans[k].l = i
			}
			if spans[k].r < 0 && p.t.Equal(to) {
				spans[k].r = i
			}
		}
		if spans[k].l < 0 || spans[k].r < 0 {
			return fileLosses{}, fmt.Errorf("window %s .. %s: a timestamp that is not a row", w[0], w[1])
		}
	}
	maxTP := scaledSigmoid(-1)
	probation := math.Min(math.Floor(probationShare*float64(len(series))), probationCap)
	reason := func(i int) anomaly.Reason {
		if why == nil {
			return anomaly.ReasonNone
		}
		return why[i]
	}
	var out fileLosses
	pw := make([]*pricedWindow, len(spans))
	next, cur := 0, -1
	prevR, prevW := -1, 0.0
	for i, p := range series {
		if next < len(spans) && p.t.Equal(spans[next].from) {
			cur = next
			next++
		}
		var u float64
		switch {
		case cur >= 0:
			s := spans[cur]
			u = scaledSigmoid(-float64(s.r-i+1) / float64(s.r-s.l+1))
		case prevR < 0:
			u = -1
		case prevW-1 == 0:
			u = -1 // a one-row window: NAB would divide by zero (nabscore's rule)
		default:
			u = scaledSigmoid(math.Abs(float64(prevR-i)) / (prevW - 1))
		}
		if float64(i) >= probation {
			row := pricedRow{i: i, at: p.t, score: scores[i], why: reason(i)}
			if cur >= 0 {
				w := pw[cur]
				if w == nil {
					s := spans[cur]
					w = &pricedWindow{from: s.from, to: s.to, rows: s.r - s.l + 1, left: s.l}
					pw[cur] = w
				}
				if scores[i] >= thr && !w.found {
					row.worth = u * stdTP / maxTP
					w.found, w.first = true, row
				}
				if !w.found && scores[i] > w.best.score {
					w.best = row
				}
			} else if scores[i] >= thr {
				row.worth = u * stdFP
				out.rows = append(out.rows, row)
			}
		}
		if cur >= 0 && p.t.Equal(spans[cur].to) {
			prevR, prevW = i, float64(spans[cur].r-spans[cur].l+1)
			cur = -1
		}
	}
	for _, w := range pw {
		if w == nil {
			continue // all its rows in the probation: nabscore does not score it
		}
		out.windows = append(out.windows, *w)
		if w.found {
			out.late += 1 - w.first.worth
			out.raw += math.Max(-stdFN, w.first.worth)
		} else {
			out.missed += 2
			out.raw -= stdFN
		}
	}
	for _, r := range out.rows {
		out.fp -= r.worth
		out.raw += r.worth
	}
	return out, nil
}

// parseLabelTime reads a label file's timestamp (with microseconds, as NAB writes them) or a
// data file's.
func parseLabelTime(s string) (time.Time, error) {
	if t, err := time.Parse(labelTime, s); err == nil {
		return t, nil
	}
	return time.Parse(nabTime, s)
}

// lossCategories resolves -losses ("all" or category names, comma-separated) against the
// label set's categories.
func lossCategories(flag string, labels labelSet) ([]string, error) {
	all := labels.categories()
	if flag == "all" {
		return all, nil
	}
	known := map[string]bool{}
	for _, c := range all {
		known[c] = true
	}
	var out []string
	for _, c := range strings.Split(flag, ",") {
		if !known[c] {
			return nil, fmt.Errorf("-losses: no category %q (have %s)", c, strings.Join(all, ", "))
		}
		out = append(out, c)
	}
	return out, nil
}

// printLosses prices every series of dev in cats at its fold's standard threshold and prints
// what each loses, row by row. dev must hold D's series only.
func printLosses(w io.Writer, spec detSpec, dataDir string, dev labelSet, run locoRun, cats []string) error {
	fmt.Fprintln(w, "\nwhat each held-out D series loses at its fold's standard threshold (late: 1 − a found "+
		"window's worth, 0.14 at its centre; missed: 2 a window; rows: the false positives' cost)")
	for _, c := range cats {
		fold, ok := run.Folds[c]
		thr := fold.Profiles[profiles[0]].Threshold
		if !ok || thr == nil {
			return fmt.Errorf("-losses: no standard threshold for fold %s", c)
		}
		keys := make([]string, 0)
		for k := range dev {
			if category(k) == c {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		var late, missed, fp float64
		var rows int
		for _, k := range keys {
			series, err := readSeries(filepath.Join(dataDir, "data", k))
			if err != nil {
				return err
			}
			var scores []float64
			var why []anomaly.Reason
			if spec.cad {
				scores = detectCAD(series, 1/float64(spec.cfg.Memory), spec.cfg.Quiet)
			} else {
				scores, why = detectWhy(spec.cfg, series, spec.events)
			}
			l, err := priceFile(series, scores, why, dev[k], *thr)
			if err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			check := ""
			if f, ok := fold.Profiles[profiles[0]].Files[k]; !ok {
				check = "  (nabscore's raw not kept)"
			} else if math.Abs(f.Raw-l.raw) > 1e-9 {
				return fmt.Errorf("-losses: %s priced at %.12f, nabscore says %.12f", k, l.raw, f.Raw)
			}
			fmt.Fprintf(w, "%-58s thr %.4f  raw %7.3f  late %.3f  missed %.3f  rows %.3f (%d)%s\n",
				k, *thr, l.raw, l.late, l.missed, l.fp, len(l.rows), check)
			printFileLosses(w, l)
			late, missed, fp, rows = late+l.late, missed+l.missed, fp+l.fp, rows+len(l.rows)
		}
		fmt.Fprintf(w, "%-58s late %.3f  missed %.3f  rows %.3f (%d)\n", c+" (held out)", late, missed, fp, rows)
	}
	return nil
}

// printFileLosses prints a priced series' windows and false positives.
func printFileLosses(w io.Writer, l fileLosses) {
	const at = "01-02 15:04"
	for _, win := range l.windows {
		head := fmt.Sprintf("  window %s .. %s (%d rows)", win.from.Format(at), win.to.Format(at), win.rows)
		if win.found {
			f := win.first
			fmt.Fprintf(w, "%s  first %s at %.2f  worth %.3f  %s %.4f\n", head, f.at.Format(at),
				float64(f.i-win.left)/float64(win.rows), f.worth, f.why, f.score)
			continue
		}
		best := "no score inside"
		if win.best.score > 0 {
			best = fmt.Sprintf("best %s %.4f at %s (%.2f)", win.best.why, win.best.score,
				win.best.at.Format(at), float64(win.best.i-win.left)/float64(win.rows))
		}
		fmt.Fprintf(w, "%s  MISSED, %s\n", head, best)
	}
	for _, r := range l.rows {
		fmt.Fprintf(w, "  row    %s  %-9s %.4f  cost %.3f\n", r.at.Format(at), r.why, r.score, -r.worth)
	}
}

// errLossesOnT: -losses prices D's series, never T's.
var errLossesOnT = errors.New("-losses prices D's series only; not with -test")
