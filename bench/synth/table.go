package main

import (
	"fmt"
	"io"
	"strings"
)

// synthRun is one run of the yardstick, as -save writes it.
type synthRun struct {
	Version int    `json:"version"`
	Seeds   int    `json:"seeds"`
	Step    string `json:"step"`
	// ObserveCount is false when the detector had no ObserveCount: the count paths then went
	// through Observe.
	ObserveCount bool          `json:"observe_count"`
	Clean        []cleanRow    `json:"clean"`
	Detect       []detectRow   `json:"detect"`
	Delivery     []deliveryRow `json:"delivery"`
	// Mature are the mature series' regime changes (round 74); a run saved before has none, and
	// -against prints them as new.
	Mature []matureRow `json:"mature,omitempty"`
	// Small and SmallDetect are a new tenant's small counts (round 96): their false alarms and
	// their anomalies; a run saved before has none, and -against prints them as new.
	Small       []smallRow  `json:"small,omitempty"`
	SmallDetect []detectRow `json:"small_detect,omitempty"`
}

// saveVersion changes whenever the series or the measures change, so that runs that are not
// comparable are not compared. 2: the small shift and flapping anomalies and the deliveries
// (round 49).
const saveVersion = 2

// cleanRow is one series kind's false alarms over its clean series.
type cleanRow struct {
	Series      string `json:"series"` // family/path
	Points      int    `json:"points"`
	Alarms      int    `json:"alarms"`
	YoungPoints int    `json:"young_points"`
	YoungAlarms int    `json:"young_alarms"`
}

func per10k(alarms, points int) float64 { return 1e4 * float64(alarms) / float64(points) }

// detectRow is one series kind × anomaly kind over every seed.
type detectRow struct {
	Series   string `json:"series"`
	Kind     string `json:"kind"`
	Delay    int    `json:"delay"`
	Seeds    int    `json:"seeds"`
	Detected int    `json:"detected"`
	// MedianDelay is over the detected seeds, in points; -1 when none was.
	MedianDelay float64 `json:"median_delay"`
	// MedianBest is the median over seeds of the best score within the delay.
	MedianBest float64 `json:"median_best"`
}

func (r detectRow) key() string { return r.Series + " " + r.Kind }

// paths returns the ways family f's series reach the detector: by value, and as counts when
// the analyzer judges it so.
func (f *family) paths() []string {
	if f.count {
		return []string{"count", "value"}
	}
	return []string{"value"}
}

// measure runs every family, path, kind and delivery over seeds 1..seeds.
func measure(seeds int) synthRun {
	run := synthRun{Version: saveVersion, Seeds: seeds, Step: step.String(), ObserveCount: hasObserveCount}
	for i := range families {
		f := &families[i]
		for _, p := range f.paths() {
			obs := observerFor(p)
			name := f.name + "/" + p
			c := cleanRow{Series: name}
			rows := map[kind]*detectRow{}
			delays := map[kind][]float64{}
			bests := map[kind][]float64{}
			drows := make([]deliveryRow, len(deliveries))
			for j, k := range deliveries {
				drows[j] = deliveryRow{Series: name, Kind: k.String()}
			}
			for seed := uint64(1); seed <= uint64(seeds); seed++ {
				at := onset(seed)
				// The clean run goes on past the series' end as far as a delivery counts, so that
				// each delivered point has the clean run's verdict on it; its false alarms are
				// those of the series' own points.
				n := seriesPoints
				for _, k := range deliveries {
					as, _, _ := k.arrivals(seed, at)
					n = max(n, as[len(as)-1].i+1)
				}
				xs := generate(f, clean, seed, 0, n)
				crs := detect(xs, obs)
				all, young := falseAlarms(crs[:seriesPoints])
				c.Points += seriesPoints
				c.Alarms += all
				c.YoungPoints += youngPoints
				c.YoungAlarms += young
				for j, k := range deliveries {
					as, from, early := k.arrivals(seed, at)
					drows[j].add(deliver(k.config(), xs, as, obs), as, from, early, crs)
				}
				for _, k := range kinds {
					if ok, _ := f.applies(k); !ok {
						continue
					}
					r := rows[k]
					if r == nil {
						r = &detectRow{Series: name, Kind: k.String(), Delay: k.delay()}
						rows[k] = r
					}
					o := judge(detect(generate(f, k, seed, at, at+k.delay()+1), obs), at, k.delay())
					r.Seeds++
					if o.detected {
						r.Detected++
						delays[k] = append(delays[k], float64(o.delay))
					}
					bests[k] = append(bests[k], o.best)
				}
			}
			run.Clean = append(run.Clean, c)
			run.Delivery = append(run.Delivery, drows...)
			for _, k := range kinds {
				if r := rows[k]; r != nil {
					r.MedianDelay, r.MedianBest = median(delays[k]), median(bests[k])
					run.Detect = append(run.Detect, *r)
				}
			}
		}
	}
	run.Mature = measureMature(seeds)
	run.Small, run.SmallDetect = measureSmall(seeds)
	return run
}

// print writes the run: false alarms, clean and delivered otherwise, the detection matrix, each
// detection row in full, the mature series' regime changes and a new tenant's small counts.
func (run synthRun) print(w io.Writer) {
	fmt.Fprintf(w, "weir's detector on user-like series: %d seeds, one point per %s, %d points a series (onset in the last week)\n",
		run.Seeds, run.Step, seriesPoints)
	if !run.ObserveCount {
		fmt.Fprintln(w, "(this detector has no ObserveCount: the count paths went through Observe)")
	}
	fmt.Fprintf(w, "\n%-16s %12s %12s\n", "false alarms", "per 10k", "first 1000")
	for _, c := range run.Clean {
		fmt.Fprintf(w, "%-16s %12.2f %12.2f\n", c.Series, per10k(c.Alarms, c.Points), per10k(c.YoungAlarms, c.YoungPoints))
	}
	fmt.Fprintf(w, "\nfalse alarms on the clean series delivered otherwise, per 10k points counted (the clean run's at the same points)\n")
	fmt.Fprintf(w, "%-16s %-11s %8s %8s %8s %8s %8s %8s\n", "series", "delivery", "counted", "per 10k", "clean", "early", "per 10k", "clean")
	for _, r := range run.Delivery {
		fmt.Fprintf(w, "%-16s %-11s %8d %8.2f %8.2f %8d %8.2f %8.2f\n", r.Series, r.Kind,
			r.Points, per10k(r.Alarms, r.Points), per10k(r.CleanAlarms, r.Points),
			r.EarlyPoints, per10k(r.EarlyAlarms, r.EarlyPoints), per10k(r.CleanEarlyAlarms, r.EarlyPoints))
	}
	fmt.Fprintf(w, "\n%-16s", "detected %")
	for _, k := range kinds {
		fmt.Fprintf(w, " %12s", k)
	}
	fmt.Fprintf(w, "\n%-16s", "within (points)")
	for _, k := range kinds {
		fmt.Fprintf(w, " %12d", k.delay())
	}
	fmt.Fprintln(w)
	byKey := map[string]detectRow{}
	for _, r := range run.Detect {
		byKey[r.key()] = r
	}
	for _, c := range run.Clean {
		fmt.Fprintf(w, "%-16s", c.Series)
		for _, k := range kinds {
			if r, ok := byKey[c.Series+" "+k.String()]; ok {
				fmt.Fprintf(w, " %12.0f", 100*float64(r.Detected)/float64(r.Seeds))
			} else {
				fmt.Fprintf(w, " %12s", "-")
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\n%-16s %-13s %5s %9s %12s %11s\n", "series", "anomaly", "delay", "detected", "median delay", "median best")
	for _, r := range run.Detect {
		fmt.Fprintf(w, "%-16s %-13s %5d %4d/%-4d %12s %11.3f\n", r.Series, r.Kind, r.Delay, r.Detected, r.Seeds, delayString(r.MedianDelay), r.MedianBest)
	}
	printMature(w, run.Mature, run.Seeds)
	printSmall(w, run.Small, run.SmallDetect, run.Seeds)
}

func delayString(d float64) string {
	if d < 0 {
		return "-"
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", d), ".0")
}
