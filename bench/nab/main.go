// Command nab runs weir's anomaly detector over the Numenta Anomaly Benchmark and scores it
// with shared/tools/nab/nabscore.py by leave-one-category-out (README.md, "The protocol").
//
//	go run ./bench/nab loco -data NAB [-save FILE] [-against FILE] [-test] [-all] [-detector weir|cad]
//	go run ./bench/nab loco -data NAB -ensemble [-save FILE] [-against FILE [-simplify]]
//	go run ./bench/nab noise -data NAB [-save FILE]
//	go run ./bench/nab -data NAB -out OUT
//
// The first runs the detector over the dev set and prints the LOCO table (or a look at the
// internal test subset), or, with -ensemble, LOCO on D on the start ensemble that the decision
// rule is judged on since round 112 (ensemble.go); the second runs LOCO on D under null perturbations of the input and
// prints how far the scores move (noise.go); the third only writes
// OUT/<category>/weir_<name>.csv (timestamp,value,anomaly_score), one row per input row, in
// order, for NAB's own scorer.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/weirstream/weir/pipeline/anomaly"
)

// detectorName is the detector's name in NAB's results layout.
const detectorName = "weir"

func main() {
	var err error
	switch {
	case len(os.Args) > 1 && os.Args[1] == "loco":
		err = runLOCO(os.Args[2:], os.Stdout)
	case len(os.Args) > 1 && os.Args[1] == "noise":
		err = runNoise(os.Args[2:], os.Stdout)
	default:
		err = run(os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "nab:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fset := flag.NewFlagSet("nab", flag.ContinueOnError)
	dataDir := fset.String("data", "", "NAB root holding data/<category>/<name>.csv (required)")
	outDir := fset.String("out", "", "directory for <category>/weir_<name>.csv results (required)")
	det := detectorFlags(fset)
	if err := fset.Parse(args); err != nil {
		return err
	}
	switch {
	case *dataDir == "":
		return errors.New("-data is required")
	case *outDir == "":
		return errors.New("-out is required")
	}
	spec, err := det.config()
	if err != nil {
		return err
	}
	files, err := dataFiles(filepath.Join(*dataDir, "data"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no CSV files under %s", filepath.Join(*dataDir, "data"))
	}
	start := time.Now()
	points, err := writeAll(spec, filepath.Join(*dataDir, "data"), *outDir, files)
	if err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Fprintf(os.Stderr, "nab: %d files, %d points in %v (%.2f M points/s incl. CSV I/O)\n",
		len(files), points, el.Round(time.Millisecond), float64(points)/el.Seconds()/1e6)
	return nil
}

// detFlags are the detector settings both commands take.
type detFlags struct {
	cfg   anomaly.Config
	mode  *string
	model *string
}

// detSpec is what a run runs: the detector's configuration, whether scores are written on
// reports only, whether the detector is round 4a's contextual prototype (cad.go) instead
// of pipeline/anomaly's, and the null perturbation of its input (noise.go; the zero value
// feeds the series as read).
type detSpec struct {
	cfg     anomaly.Config
	events  bool
	cad     bool
	perturb perturbation
}

func detectorFlags(fset *flag.FlagSet) *detFlags {
	def := anomaly.DefaultConfig()
	d := &detFlags{cfg: def}
	d.mode = fset.String("score", "events", "what to write as anomaly_score: \"events\" (score, 0 inside an already-alarmed episode) or \"raw\" (Result.Score)")
	d.model = fset.String("detector", "weir", "\"weir\" (pipeline/anomaly) or \"cad\" (round 4a's contextual prototype with CAD's rest rule; -memory and -quiet apply)")
	fset.IntVar(&d.cfg.WarmUp, "warmup", def.WarmUp, "Config.WarmUp")
	fset.IntVar(&d.cfg.Memory, "memory", def.Memory, "Config.Memory")
	fset.Float64Var(&d.cfg.AlarmScore, "alarm", def.AlarmScore, "Config.AlarmScore")
	fset.IntVar(&d.cfg.Quiet, "quiet", def.Quiet, "Config.Quiet")
	return d
}

// config returns what to run.
func (d *detFlags) config() (detSpec, error) {
	spec := detSpec{cfg: d.cfg, events: *d.mode == "events", cad: *d.model == "cad"}
	if *d.mode != "events" && *d.mode != "raw" {
		return spec, fmt.Errorf("-score: want \"events\" or \"raw\", got %q", *d.mode)
	}
	if *d.model != "weir" && *d.model != "cad" {
		return spec, fmt.Errorf("-detector: want \"weir\" or \"cad\", got %q", *d.model)
	}
	return spec, d.cfg.Validate()
}

// writeAll runs a fresh detector over each data file (keys relative to dataDir) and writes its
// results file under outDir; it returns the points processed.
func writeAll(spec detSpec, dataDir, outDir string, keys []string) (int, error) {
	points := 0
	for _, rel := range keys {
		series, err := readSeries(filepath.Join(dataDir, rel))
		if err != nil {
			return points, err
		}
		// The detector sees the perturbed input; the results file keeps the series as read
		// (nabscore reads only its timestamps and scores), so perturbed runs differ from the
		// unperturbed one in their scores alone.
		in, skip := spec.perturb.apply(rel, series)
		scores := make([]float64, skip, len(series))
		if spec.cad {
			scores = append(scores, detectCAD(in[skip:], 1/float64(spec.cfg.Memory), spec.cfg.Quiet)...)
		} else {
			scores = append(scores, detect(spec.cfg, in[skip:], spec.events)...)
		}
		dir, name := filepath.Split(rel)
		out := filepath.Join(outDir, dir, detectorName+"_"+name)
		if err := writeResults(out, series, scores); err != nil {
			return points, err
		}
		points += len(series)
	}
	return points, nil
}

// detect runs a fresh detector over one series and returns the anomaly_score column.
//
// With events, a point that is not a report (Result.Peak false: a score below the highest of
// the last Quiet points, or a run's held price) is written as 0: weir reports one event per
// anomalous episode, and NAB likewise counts only the first detection in a window and charges
// every later one outside it as a false positive. Result.Alarm is never read: NAB sweeps its own
// threshold over the reports' scores.
func detect(cfg anomaly.Config, series []point, events bool) []float64 {
	scores, _ := detectWhy(cfg, series, events)
	return scores
}

// detectWhy is detect with the channel behind each score written (Result.Reason; ReasonNone
// where 0 is written), for the losses printout (losses.go).
func detectWhy(cfg anomaly.Config, series []point, events bool) ([]float64, []anomaly.Reason) {
	d := anomaly.New(cfg)
	scores := make([]float64, len(series))
	why := make([]anomaly.Reason, len(series))
	for i, p := range series {
		r := d.Observe(p.t, p.v)
		if events && !r.Peak {
			continue
		}
		scores[i], why[i] = r.Score, r.Reason
	}
	return scores, why
}

// dataFiles lists the CSV files under root as relative paths (<category>/<name>.csv), sorted
// for a reproducible run.
func dataFiles(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".csv") {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		files = append(files, rel)
		return nil
	})
	sort.Strings(files)
	return files, err
}
