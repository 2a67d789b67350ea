package main

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/weirstream/weir/pipeline/anomaly"
)

// matureRow is one series kind × regime change over every seed: the new regime's alarms per day
// after the change beside the unchanged series' at the same points, whether the change was
// flagged, and whether a spike in the new regime was.
type matureRow struct {
	Series string `json:"series"` // family/path
	Change string `json:"change"`
	Seeds  int    `json:"seeds"`
	// Points, Alarms and CleanAlarms are per day after the onset (day d is points
	// [onset + 288d, onset + 288(d+1))), from the point after the change's delay on.
	Points      [afterDays]int `json:"points"`
	Alarms      [afterDays]int `json:"alarms"`
	CleanAlarms [afterDays]int `json:"clean_alarms"`
	// Detected counts the seeds whose change was flagged within changeDelay, DetectedDay within a
	// day; MedianDelay (over the detected, -1 for none) and MedianBest are within changeDelay.
	Detected    int     `json:"detected"`
	DetectedDay int     `json:"detected_day"`
	MedianDelay float64 `json:"median_delay"`
	MedianBest  float64 `json:"median_best"`
	// Spike counts the seeds whose spike in the new regime was flagged, SpikeBest is the median
	// score; CleanSpike and CleanSpikeBest the same for the unchanged series' spike at that point.
	Spike          int     `json:"spike"`
	SpikeBest      float64 `json:"spike_best"`
	CleanSpike     int     `json:"clean_spike"`
	CleanSpikeBest float64 `json:"clean_spike_best"`
}

func (r matureRow) key() string { return r.Series + " " + r.Change }

// settledDay is the first day d (at most afterDays − 7, so that a week is left to judge by) from
// which on the change's alarms, summed over the remaining days, are at most the unchanged
// series' over the same points plus two standard errors of the difference (Poisson: 2√(sum of
// both)); -1 when no such day is.
func (r matureRow) settledDay() int {
	for d := 0; d <= afterDays-7; d++ {
		var a, c int
		for j := d; j < afterDays; j++ {
			a += r.Alarms[j]
			c += r.CleanAlarms[j]
		}
		if float64(a) <= float64(c)+2*math.Sqrt(float64(a+c)) {
			return d
		}
	}
	return -1
}

// settledWeeks is the first day d (at most afterDays − 7) from which on every seven days, [d', d'+7)
// for each d' from d to afterDays − 7, hold at most the unchanged series' alarms over the same
// points plus two standard errors of the difference; -1 when no such day is. Added after the first
// run: settledDay sums the remaining days, so a new regime that alarms less than the old one in
// its later weeks nets that deficit against its early excess and reads as settled at once; here
// an excess in any week after d counts.
func (r matureRow) settledWeeks() int {
	within := func(from int) bool {
		_, a, c := r.span(from, from+7)
		return float64(a) <= float64(c)+2*math.Sqrt(float64(a+c))
	}
	settled := -1
	for d := afterDays - 7; d >= 0 && within(d); d-- {
		settled = d
	}
	return settled
}

// span sums the row's per-day counts over days [from, to).
func (r matureRow) span(from, to int) (points, alarms, clean int) {
	for d := from; d < to; d++ {
		points += r.Points[d]
		alarms += r.Alarms[d]
		clean += r.CleanAlarms[d]
	}
	return points, alarms, clean
}

// observeFrom observes xs[from:] on d into rs (indexed by point), and at point spikeAt first gives
// a copy of d the value spike: that copy's result is returned, and d never sees the spike. A
// Detector is a fixed-size value (pipeline/anomaly's settings), so a copy shares nothing.
func observeFrom(d *anomaly.Detector, obs observer, xs []float64, from, spikeAt int, spike float64, rs []anomaly.Result) anomaly.Result {
	var sp anomaly.Result
	for i := from; i < len(xs); i++ {
		t := t0.Add(time.Duration(i) * step)
		if i == spikeAt {
			fork := *d
			sp = obs(&fork, t, spike)
		}
		rs[i] = obs(d, t, xs[i])
	}
	return sp
}

// measureMature runs every family, path and change that applies over seeds 1..seeds.
func measureMature(seeds int) []matureRow {
	var out []matureRow
	for i := range families {
		f := &families[i]
		var cs []change
		for _, c := range changes {
			if ok, _ := f.appliesChange(c); ok {
				cs = append(cs, c)
			}
		}
		for _, p := range f.paths() {
			obs := observerFor(p)
			rows := make([]matureRow, len(cs))
			delays := make([][]float64, len(cs))
			bests := make([][]float64, len(cs))
			spikes := make([][]float64, len(cs))
			var cleanSpikes []float64
			cleanRuns := 0
			for j, c := range cs {
				rows[j] = matureRow{Series: f.name + "/" + p, Change: c.String()}
			}
			crs := make([]anomaly.Result, maturePoints)
			rs := make([]anomaly.Result, maturePoints)
			for seed := uint64(1); seed <= uint64(seeds); seed++ {
				at := matureOnset(seed)
				spikeAt := at + spikeAfter
				// The unchanged run, its detector kept at the onset: every change's series is
				// the unchanged one before it, so each change's run forks from there.
				xs := generateMature(f, noChange, seed, at, maturePoints)
				d := anomaly.New(anomaly.DefaultConfig())
				observeFrom(d, obs, xs[:at], 0, -1, 0, crs)
				atOnset := *d
				cs0 := observeFrom(d, obs, xs, at, spikeAt, spikeValue(f, noChange, xs, spikeAt), crs)
				cleanRuns += b2i(cs0.Alarm)
				cleanSpikes = append(cleanSpikes, cs0.Score)
				for j, c := range cs {
					cxs := generateMature(f, c, seed, at, maturePoints)
					dc := atOnset
					sp := observeFrom(&dc, obs, cxs, at, spikeAt, spikeValue(f, c, cxs, spikeAt), rs)
					r := &rows[j]
					r.Seeds++
					r.Spike += b2i(sp.Alarm)
					spikes[j] = append(spikes[j], sp.Score)
					o := judge(rs, at, changeDelay)
					if o.detected {
						r.Detected++
						delays[j] = append(delays[j], float64(o.delay))
					}
					bests[j] = append(bests[j], o.best)
					r.DetectedDay += b2i(judge(rs, at, pointsPerDay).detected)
					for k := at + changeDelay + 1; k < at+afterDays*pointsPerDay; k++ {
						day := (k - at) / pointsPerDay
						r.Points[day]++
						r.Alarms[day] += b2i(rs[k].Alarm)
						r.CleanAlarms[day] += b2i(crs[k].Alarm)
					}
				}
			}
			cleanBest := median(cleanSpikes)
			for j := range rows {
				r := &rows[j]
				r.MedianDelay, r.MedianBest = median(delays[j]), median(bests[j])
				r.SpikeBest = median(spikes[j])
				r.CleanSpike, r.CleanSpikeBest = cleanRuns, cleanBest
			}
			out = append(out, rows...)
		}
	}
	return out
}

// printMature writes the mature rows: the new regime's false alarms by week beside the unchanged
// series', when they settle, whether the change and a spike in the new regime were flagged.
func printMature(w io.Writer, rows []matureRow, seeds int) {
	fmt.Fprintf(w, "\nmature series (%d points, the regime changed at a seeded point of week 7, %d seeds): false alarms per 10k points after the change's first hour, this series / the unchanged one at the same points\n",
		maturePoints, seeds)
	fmt.Fprintf(w, "%-16s %-10s %13s %13s %13s %13s %13s %8s %8s\n", "series", "change", "day 1", "week 1", "week 2", "week 3", "week 4", "settled", "7-day")
	for _, r := range rows {
		fmt.Fprintf(w, "%-16s %-10s", r.Series, r.Change)
		for _, s := range [][2]int{{0, 1}, {0, 7}, {7, 14}, {14, 21}, {21, 28}} {
			p, a, c := r.span(s[0], s[1])
			fmt.Fprintf(w, " %13s", fmt.Sprintf("%.1f/%.1f", per10k(a, p), per10k(c, p)))
		}
		fmt.Fprintf(w, " %8s %8s\n", days(r.settledDay()), days(r.settledWeeks()))
	}
	fmt.Fprintf(w, "\n%-16s %-10s %9s %6s %6s %9s %17s %17s\n", "series", "change", "flagged", "delay", "best", "in a day", "spike new regime", "spike unchanged")
	for _, r := range rows {
		fmt.Fprintf(w, "%-16s %-10s %4d/%-4d %6s %6.3f %9d %17s %17s\n", r.Series, r.Change, r.Detected, r.Seeds,
			delayString(r.MedianDelay), r.MedianBest, r.DetectedDay,
			fmt.Sprintf("%d (%.3f)", r.Spike, r.SpikeBest), fmt.Sprintf("%d (%.3f)", r.CleanSpike, r.CleanSpikeBest))
	}
}

// days prints a settled day; -1 is not within three weeks.
func days(d int) string {
	if d < 0 {
		return "> 21 d"
	}
	return fmt.Sprintf("%d d", d)
}
