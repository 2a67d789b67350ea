package main

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/weirstream/weir/pipeline/anomaly"
)

// where is where one series kind's false alarms fall (-alarms): by the channel that spoke, by the
// series' age, by time of day, and how surprising each alarm was. A false-alarm rate alone does
// not say which part of the detector to look at; these do (bench/nab/DECISIONS.md, round 45).
type where struct {
	series string
	seeds  int
	alarms int
	reason [anomaly.ReasonRecord + 1]int
	age    [len(ageEnds)]int
	hour   [4]int // 00–06, 06–12, 12–18, 18–24 UTC
	nats   []float64
}

// ageEnds are the ends of the age buckets, in points: day one (the forecaster has no daily
// profile yet), the rest of the young points the main table counts apart, up to three weeks
// (Memory), and the fourth week, where the scripted anomalies fall.
var ageEnds = [...]int{pointsPerDay, youngPoints, learnPoints, seriesPoints}

// ageNames name the age buckets in the table.
var ageNames = [len(ageEnds)]string{"day one", "to 1000", "to 3 wk", "week 4"}

// scoreNats is the calibrated surprise, in nats, behind a score: Result.Score is s/(s+10).
func scoreNats(score float64) float64 { return 10 * score / (1 - score) }

// tally adds one clean series' results, which start at t0, one point per step.
func (w *where) tally(rs []anomaly.Result) {
	for i, r := range rs {
		if !r.Alarm {
			continue
		}
		w.alarms++
		if int(r.Reason) < len(w.reason) {
			w.reason[r.Reason]++
		}
		for k, end := range ageEnds {
			if i < end {
				w.age[k]++
				break
			}
		}
		w.hour[t0.Add(time.Duration(i)*step).Hour()/6]++
		w.nats = append(w.nats, scoreNats(r.Score))
	}
}

// alarmsWhere runs every family's clean series over seeds 1..seeds, by each path, and returns
// where their false alarms fall.
func alarmsWhere(seeds int) []where {
	var out []where
	for i := range families {
		f := &families[i]
		for _, p := range f.paths() {
			obs := observerFor(p)
			w := where{series: f.name + "/" + p, seeds: seeds}
			for seed := uint64(1); seed <= uint64(seeds); seed++ {
				w.tally(detect(generate(f, clean, seed, 0, seriesPoints), obs))
			}
			out = append(out, w)
		}
	}
	return out
}

// printWhere writes the table: per 10k points of each bucket, so that buckets of different
// lengths compare, beside the rate a calibrated detector would not exceed (e^−s at the alarm
// score's s nats: a report needs a point at least that rare).
func printWhere(w io.Writer, ws []where, alarmScore float64) {
	fmt.Fprintf(w, "\nwhere the false alarms fall, per 10k points of each bucket (a detector calibrated at alarm_score %.2f, %.2f nats, alarms on at most %.2f)\n",
		alarmScore, scoreNats(alarmScore), 1e4*math.Exp(-scoreNats(alarmScore)))
	fmt.Fprintf(w, "%-16s %6s", "series", "alarms")
	for _, n := range ageNames {
		fmt.Fprintf(w, " %8s", n)
	}
	fmt.Fprintf(w, " %7s %7s %7s %7s", "00-06h", "06-12h", "12-18h", "18-24h")
	for r := anomaly.ReasonDeviation; r <= anomaly.ReasonRecord; r++ {
		fmt.Fprintf(w, " %9s", r)
	}
	fmt.Fprintf(w, " %16s\n", "nats q10/q50/q90")
	for _, x := range ws {
		fmt.Fprintf(w, "%-16s %6d", x.series, x.alarms)
		start := 0
		for k, end := range ageEnds {
			fmt.Fprintf(w, " %8.1f", per10k(x.age[k], x.seeds*(end-start)))
			start = end
		}
		for _, n := range x.hour {
			fmt.Fprintf(w, " %7.1f", per10k(n, x.seeds*seriesPoints/len(x.hour)))
		}
		for r := anomaly.ReasonDeviation; r <= anomaly.ReasonRecord; r++ {
			fmt.Fprintf(w, " %9d", x.reason[r])
		}
		if len(x.nats) == 0 {
			fmt.Fprintf(w, " %16s\n", "-")
			continue
		}
		q10, q50, q90 := quantile(x.nats, 0.1), quantile(x.nats, 0.5), quantile(x.nats, 0.9)
		fmt.Fprintf(w, " %16s\n", fmt.Sprintf("%.1f/%.1f/%.1f", q10, q50, q90))
	}
}

// quantile is xs's q-quantile, the nearest rank below (xs sorted in place).
func quantile(xs []float64, q float64) float64 {
	median(xs) // sorts
	return xs[int(q*float64(len(xs)-1))]
}
