package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
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
	old := map[string]cleanRow{}
	for _, c := range base.Clean {
		old[c.Series] = c
	}
	same := 0
	for _, c := range cur.Clean {
		b, ok := old[c.Series]
		if !ok {
			fmt.Fprintf(w, "%-16s new\n", c.Series)
			continue
		}
		if b.Alarms == c.Alarms && b.YoungAlarms == c.YoungAlarms {
			same++
			continue
		}
		fmt.Fprintf(w, "%-16s %6.2f -> %6.2f (%+.2f)   %6.2f -> %6.2f (%+.2f)\n", c.Series,
			per10k(b.Alarms, b.Points), per10k(c.Alarms, c.Points), per10k(c.Alarms, c.Points)-per10k(b.Alarms, b.Points),
			per10k(b.YoungAlarms, b.YoungPoints), per10k(c.YoungAlarms, c.YoungPoints),
			per10k(c.YoungAlarms, c.YoungPoints)-per10k(b.YoungAlarms, b.YoungPoints))
	}
	fmt.Fprintf(w, "(%d unchanged)\n", same)

	fmt.Fprintf(w, "\nagainst base: false alarms per 10k delivered otherwise (counted / early), base -> this run\n")
	oldV := map[string]deliveryRow{}
	for _, r := range base.Delivery {
		oldV[r.key()] = r
	}
	same = 0
	for _, r := range cur.Delivery {
		b, ok := oldV[r.key()]
		if !ok {
			fmt.Fprintf(w, "%-16s %-11s new\n", r.Series, r.Kind)
			continue
		}
		if b.Alarms == r.Alarms && b.EarlyAlarms == r.EarlyAlarms {
			same++
			continue
		}
		fmt.Fprintf(w, "%-16s %-11s %6.2f -> %6.2f (%+.2f)   %6.2f -> %6.2f (%+.2f)\n", r.Series, r.Kind,
			per10k(b.Alarms, b.Points), per10k(r.Alarms, r.Points), per10k(r.Alarms, r.Points)-per10k(b.Alarms, b.Points),
			per10k(b.EarlyAlarms, b.EarlyPoints), per10k(r.EarlyAlarms, r.EarlyPoints),
			per10k(r.EarlyAlarms, r.EarlyPoints)-per10k(b.EarlyAlarms, b.EarlyPoints))
	}
	fmt.Fprintf(w, "(%d unchanged)\n", same)

	fmt.Fprintf(w, "\nagainst base: detection, base -> this run (detected, median delay, median best score)\n")
	oldD := map[string]detectRow{}
	for _, r := range base.Detect {
		oldD[r.key()] = r
	}
	same = 0
	for _, r := range cur.Detect {
		b, ok := oldD[r.key()]
		if !ok {
			fmt.Fprintf(w, "%-16s %-13s new\n", r.Series, r.Kind)
			continue
		}
		if b.Detected == r.Detected && b.MedianDelay == r.MedianDelay && math.Abs(b.MedianBest-r.MedianBest) < 5e-4 {
			same++
			continue
		}
		fmt.Fprintf(w, "%-16s %-13s %4d -> %-4d (%+4d)  %5s -> %-5s  %.3f -> %.3f (%+.3f)\n", r.Series, r.Kind,
			b.Detected, r.Detected, r.Detected-b.Detected, delayString(b.MedianDelay), delayString(r.MedianDelay),
			b.MedianBest, r.MedianBest, r.MedianBest-b.MedianBest)
	}
	fmt.Fprintf(w, "(%d unchanged)\n", same)
	return nil
}
