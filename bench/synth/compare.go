package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// readRun reads a run saved by -save.
func readRun(path string) (*synthRun, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r synthRun
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// writeRun saves run as JSON.
func writeRun(path string, run synthRun) error {
	b, err := json.MarshalIndent(run, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// comparable says why base and cur cannot be compared row by row, or "".
func comparable(base, cur synthRun) string {
	switch {
	case base.Version != cur.Version:
		return fmt.Sprintf("saved with version %d of the series, this is %d", base.Version, cur.Version)
	case base.Seeds != cur.Seeds:
		return fmt.Sprintf("saved over %d seeds, this run %d", base.Seeds, cur.Seeds)
	case base.Step != cur.Step:
		return fmt.Sprintf("saved at one point per %s, this run %s", base.Step, cur.Step)
	}
	return ""
}

// compare prints what moved from base to cur: every false-alarm rate (clean and delivered
// otherwise) and every detection row that changed, as old -> new, and how many rows did not. It decides nothing: the yardstick is
// reported beside NAB's rule.
func compare(w io.Writer, base, cur synthRun) error {
	if why := comparable(base, cur); why != "" {
		return fmt.Errorf("not comparable: %s", why)
	}
	if base.ObserveCount != cur.ObserveCount {
		fmt.Fprintf(w, "\nnote: ObserveCount %v in the base, %v here: the count paths differ by that too\n", base.ObserveCount, cur.ObserveCount)
	}
	fmt.Fprintf(w, "\nagainst base: false alarms per 10k (all / first 1000), base -> this run\n")
	rowsMoved(w, base.Clean, cur.Clean,
		func(c cleanRow) string { return c.Series },
		func(c cleanRow) string { return fmt.Sprintf("%-16s", c.Series) },
		func(b, c cleanRow) bool { return b.Alarms == c.Alarms && b.YoungAlarms == c.YoungAlarms },
		func(b, c cleanRow) string {
			return rateMoved(b.Alarms, b.Points, c.Alarms, c.Points) + "   " +
				rateMoved(b.YoungAlarms, b.YoungPoints, c.YoungAlarms, c.YoungPoints)
		})

	fmt.Fprintf(w, "\nagainst base: false alarms per 10k delivered otherwise (counted / early), base -> this run\n")
	rowsMoved(w, base.Delivery, cur.Delivery, deliveryRow.key,
		func(r deliveryRow) string { return fmt.Sprintf("%-16s %-11s", r.Series, r.Kind) },
		func(b, r deliveryRow) bool { return b.Alarms == r.Alarms && b.EarlyAlarms == r.EarlyAlarms },
		func(b, r deliveryRow) string {
			return rateMoved(b.Alarms, b.Points, r.Alarms, r.Points) + "   " +
				rateMoved(b.EarlyAlarms, b.EarlyPoints, r.EarlyAlarms, r.EarlyPoints)
		})

	fmt.Fprintf(w, "\nagainst base: detection, base -> this run (detected, median delay, median best score)\n")
	rowsMoved(w, base.Detect, cur.Detect, detectRow.key,
		func(r detectRow) string { return fmt.Sprintf("%-16s %-13s", r.Series, r.Kind) },
		sameDetect, detectMoved)

	fmt.Fprintf(w, "\nagainst base: mature series' regime changes, base -> this run (false alarms per 10k after the change, the change flagged within %d points, the spike in the new regime)\n", changeDelay)
	rowsMoved(w, base.Mature, cur.Mature, matureRow.key,
		func(r matureRow) string { return fmt.Sprintf("%-16s %-10s", r.Series, r.Change) },
		func(b, r matureRow) bool {
			return b.Alarms == r.Alarms && b.CleanAlarms == r.CleanAlarms && b.Detected == r.Detected &&
				b.DetectedDay == r.DetectedDay && b.Spike == r.Spike && b.CleanSpike == r.CleanSpike &&
				math.Abs(b.MedianBest-r.MedianBest) < 5e-4 && math.Abs(b.SpikeBest-r.SpikeBest) < 5e-4
		},
		func(b, r matureRow) string {
			bp, ba, _ := b.span(0, afterDays)
			rp, ra, _ := r.span(0, afterDays)
			return fmt.Sprintf("%s  flagged %d -> %d  spike %d -> %d (%.3f -> %.3f)",
				rateMoved(ba, bp, ra, rp), b.Detected, r.Detected, b.Spike, r.Spike, b.SpikeBest, r.SpikeBest)
		})

	fmt.Fprintf(w, "\nagainst base: small counts' false alarms per 10k (day 1 / week 1 / week 2), base -> this run\n")
	rowsMoved(w, base.Small, cur.Small, smallRow.key,
		func(r smallRow) string { return fmt.Sprintf("%-22s", r.Series) },
		func(b, r smallRow) bool { return b.Alarms == r.Alarms },
		func(b, r smallRow) string {
			var parts []string
			for _, s := range [][2]int{{0, 1}, {0, 2}, {2, 3}} {
				bp, ba := b.span(s[0], s[1])
				rp, ra := r.span(s[0], s[1])
				parts = append(parts, rateMoved(ba, bp, ra, rp))
			}
			return strings.Join(parts, "   ")
		})

	fmt.Fprintf(w, "\nagainst base: small counts' detection, base -> this run (detected, median delay, median best score)\n")
	rowsMoved(w, base.SmallDetect, cur.SmallDetect, detectRow.key,
		func(r detectRow) string { return fmt.Sprintf("%-22s %-13s", r.Series, r.Kind) },
		sameDetect, detectMoved)
	return nil
}

// sameDetect says a detection row did not move: the same seeds detected, the same median delay,
// and the median best score within the printed digits.
func sameDetect(b, r detectRow) bool {
	return b.Detected == r.Detected && b.MedianDelay == r.MedianDelay && math.Abs(b.MedianBest-r.MedianBest) < 5e-4
}

// detectMoved is a detection row, base -> this run.
func detectMoved(b, r detectRow) string {
	return fmt.Sprintf("%4d -> %-4d (%+4d)  %5s -> %-5s  %.3f -> %.3f (%+.3f)",
		b.Detected, r.Detected, r.Detected-b.Detected, delayString(b.MedianDelay), delayString(r.MedianDelay),
		b.MedianBest, r.MedianBest, r.MedianBest-b.MedianBest)
}

// rowsMoved prints each row of cur that base has under the same key and that moved (label, then
// moved's text), "new" for a row base does not have, and how many rows did not move: the one
// shape of every table -against prints.
func rowsMoved[R any](w io.Writer, base, cur []R, key, label func(R) string, same func(b, c R) bool, moved func(b, c R) string) {
	old := make(map[string]R, len(base))
	for _, r := range base {
		old[key(r)] = r
	}
	unchanged := 0
	for _, c := range cur {
		b, ok := old[key(c)]
		switch {
		case !ok:
			fmt.Fprintf(w, "%s new\n", label(c))
		case same(b, c):
			unchanged++
		default:
			fmt.Fprintf(w, "%s %s\n", label(c), moved(b, c))
		}
	}
	fmt.Fprintf(w, "(%d unchanged)\n", unchanged)
}

// rateMoved is a false-alarm rate per 10k, base -> this run, and the difference.
func rateMoved(bAlarms, bPoints, cAlarms, cPoints int) string {
	b, c := per10k(bAlarms, bPoints), per10k(cAlarms, cPoints)
	return fmt.Sprintf("%6.2f -> %6.2f (%+.2f)", b, c, c-b)
}
