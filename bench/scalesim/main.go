// Command scalesim replays load profiles against weir's scaling signal and an approximation of
// ECS target tracking, and reports how the fleet behaves: time to recover, peak lag,
// task-minutes, oscillations and the band the task count settles in, with an SVG plot of load,
// lag and tasks per run.
//
//	go run ./bench/scalesim [-profile steady|ramp|burst|daily|all] [-stream kafka-even|kafka-zipf|kinesis-zipf|all]
//	                        [-mode fleet|task-max|backlog|all] [-out DIR]
//
// It writes DIR/results.json, DIR/results.md and DIR/<profile>-<stream>-<mode>.svg. The model
// is documented in fleet.go (tasks, vCPUs shared by runners, start delay, rebalances),
// stream.go (partition shares, time lag) and policy.go (alarms, cooldowns); the signals in
// measure.go.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "scalesim:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("scalesim", flag.ContinueOnError)
	profile := fs.String("profile", "all", "load profile: steady, ramp, burst, daily or all")
	streamName := fs.String("stream", "all", "stream: kafka-even, kafka-zipf, kinesis-zipf or all")
	mode := fs.String("mode", "fleet", "signal: fleet (what deploy/ uses), task-max (before issue 18), backlog, or all")
	out := fs.String("out", "scalesim-out", "output directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ps, err := profileByName(*profile)
	if err != nil {
		return err
	}
	var layouts []Layout
	for _, l := range Layouts() {
		if *streamName == "all" || *streamName == l.Name {
			layouts = append(layouts, l)
		}
	}
	if len(layouts) == 0 {
		return fmt.Errorf("unknown stream %q (kafka-even, kafka-zipf, kinesis-zipf or all)", *streamName)
	}
	var modes []Mode
	switch *mode {
	case "fleet", "task-max", "backlog":
		modes = []Mode{Mode(*mode)}
	case "all":
		modes = []Mode{ModeFleet, ModeTaskMax, ModeBacklog}
	default:
		return fmt.Errorf("unknown mode %q (fleet, task-max, backlog or all)", *mode)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	var results []Result
	for _, m := range modes {
		for _, l := range layouts {
			for _, p := range ps {
				s := DefaultScenario(p, l)
				s.Mode = m
				r := Run(s)
				results = append(results, r)
				f, err := os.Create(filepath.Join(*out, fmt.Sprintf("%s-%s-%s.svg", p.Name, l.Name, m)))
				if err != nil {
					return err
				}
				err = writeSVG(f, r, s.LagTarget)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					return err
				}
			}
		}
	}
	js, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, "results.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	var md strings.Builder
	if err := writeMarkdown(&md, results); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, "results.md"), []byte(md.String()), 0o644); err != nil {
		return err
	}
	fmt.Print(md.String())
	return nil
}
