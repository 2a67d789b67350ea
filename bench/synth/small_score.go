package main

import (
	"fmt"
	"io"

	"github.com/weirstream/weir/pipeline/anomaly"
)

// youngEnds are the ends of a small count's age buckets, in points: its first day (reported
// apart: the detector has no ordinary for the series yet), the rest of its first week, and its
// second week, which the first is compared with.
var youngEnds = [...]int{pointsPerDay, pointsPerWeek, youngSeriesPoints}

// smallRow is one small count's false alarms over its clean series, by age bucket (youngEnds) and
// by the channel that spoke (Result.Reason), summed over the seeds.
type smallRow struct {
	Series string                                        `json:"series"` // name/path
	Seeds  int                                           `json:"seeds"`
	Points [len(youngEnds)]int                           `json:"points"`
	Alarms [len(youngEnds)][anomaly.ReasonRecord + 1]int `json:"alarms"`
}

func (r smallRow) key() string { return r.Series }

// tally adds one clean series' results, which start at the series' first point.
func (r *smallRow) tally(rs []anomaly.Result) {
	r.Seeds++
	start := 0
	for b, end := range youngEnds {
		r.Points[b] += end - start
		for _, x := range rs[start:end] {
			if x.Alarm {
				r.Alarms[b][x.Reason]++
			}
		}
		start = end
	}
}

// span is the row's points and alarms (every channel) over buckets [from, to).
func (r smallRow) span(from, to int) (points, alarms int) {
	for b := from; b < to; b++ {
		points += r.Points[b]
		for _, n := range r.Alarms[b] {
			alarms += n
		}
	}
	return points, alarms
}

// channels is the row's alarms over buckets [from, to) by channel, as
// "deviation/pattern/stopped/record".
func (r smallRow) channels(from, to int) string {
	var n [anomaly.ReasonRecord + 1]int
	for b := from; b < to; b++ {
		for c, k := range r.Alarms[b] {
			n[c] += k
		}
	}
	return fmt.Sprintf("%d/%d/%d/%d", n[anomaly.ReasonDeviation], n[anomaly.ReasonPattern], n[anomaly.ReasonStopped], n[anomaly.ReasonRecord])
}

// measureSmall runs every small count over seeds 1..seeds through ObserveCount: its clean series'
// false alarms, and each anomaly that applies judged within its delay.
func measureSmall(seeds int) ([]smallRow, []detectRow) {
	var rows []smallRow
	var det []detectRow
	for i := range smallCounts {
		s := &smallCounts[i]
		name := s.name + "/count"
		c := smallRow{Series: name}
		var ks []smallKind
		for _, k := range smallKinds {
			if ok, _ := s.applies(k); ok {
				ks = append(ks, k)
			}
		}
		drows := make([]detectRow, len(ks))
		delays := make([][]float64, len(ks))
		bests := make([][]float64, len(ks))
		for j, k := range ks {
			drows[j] = detectRow{Series: name, Kind: k.String(), Delay: k.delay()}
		}
		for seed := uint64(1); seed <= uint64(seeds); seed++ {
			c.tally(detect(generateSmall(s, smallClean, seed, 0, youngSeriesPoints), observeCount))
			at := youngOnset(seed)
			for j, k := range ks {
				o := judge(detect(generateSmall(s, k, seed, at, at+k.delay()+1), observeCount), at, k.delay())
				r := &drows[j]
				r.Seeds++
				if o.detected {
					r.Detected++
					delays[j] = append(delays[j], float64(o.delay))
				}
				bests[j] = append(bests[j], o.best)
			}
		}
		for j := range drows {
			drows[j].MedianDelay, drows[j].MedianBest = median(delays[j]), median(bests[j])
		}
		rows = append(rows, c)
		det = append(det, drows...)
	}
	return rows, det
}

// printSmall writes the small counts' rows: false alarms by age and channel, and detection.
func printSmall(w io.Writer, rows []smallRow, det []detectRow, seeds int) {
	fmt.Fprintf(w, "\na new tenant's small counts (Poisson, through ObserveCount, %d points a series, %d seeds): false alarms per 10k points (alarms), by channel (deviation/pattern/stopped/record)\n",
		youngSeriesPoints, seeds)
	fmt.Fprintf(w, "%-22s %14s %14s %14s %16s %16s\n", "series", "day 1", "week 1", "week 2", "week 1 channels", "week 2 channels")
	for _, r := range rows {
		fmt.Fprintf(w, "%-22s", r.Series)
		for _, b := range [][2]int{{0, 1}, {0, 2}, {2, 3}} {
			p, a := r.span(b[0], b[1])
			fmt.Fprintf(w, " %14s", fmt.Sprintf("%.1f (%d)", per10k(a, p), a))
		}
		fmt.Fprintf(w, " %16s %16s\n", r.channels(0, 2), r.channels(2, 3))
	}
	fmt.Fprintf(w, "\n%-22s %-13s %5s %9s %12s %11s\n", "series", "anomaly", "delay", "detected", "median delay", "median best")
	for _, r := range det {
		fmt.Fprintf(w, "%-22s %-13s %5d %4d/%-4d %12s %11.3f\n", r.Series, r.Kind, r.Delay, r.Detected, r.Seeds, delayString(r.MedianDelay), r.MedianBest)
	}
}
