// Command chaos runs weir the way users run it, a fleet, and breaks it while records flow:
//
//	go run ./chaos [-trials 10] [-seed 1] [-max-duplicated -1] [-out out/chaos] …
//
// Each trial starts a kfake broker in a process of its own, a producer process that stamps
// every record with its clock, and a fleet of real worker processes (the built weir binary) in
// one consumer group writing to one output. While the producer runs, a schedule drawn from the
// trial's seed kills workers with SIGKILL, stops them with SIGTERM, restarts them, and brings a
// fourth worker in and out. Then the fleet drains and stops, and the harness counts every
// record per (partition, window): what the producer wrote against what the throughput
// summaries report. See README.md.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/weirstream/weir/internal/brokerproc"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fl.SetOutput(stderr)
	role := fl.String("role", "", "internal: broker | producer (the harness starts these)")
	planJSON := fl.String("plan", "", "internal: the producer's plan, JSON")
	o := defaultOptions()
	fl.Bool("short", false, "the one short trial of `make test` (flags given explicitly win)")
	for _, a := range args {
		if a == "-short" || a == "--short" || a == "-short=true" || a == "--short=true" {
			o = shortOptions()
		}
	}
	o.register(fl)
	if err := fl.Parse(args); err != nil {
		return err
	}
	switch *role {
	case "broker":
		return brokerproc.Serve(stdin, stdout)
	case "producer":
		var plan producePlan
		if err := json.Unmarshal([]byte(*planJSON), &plan); err != nil {
			return fmt.Errorf("-plan: %w", err)
		}
		return runProducer(ctx, plan, stdout, stderr)
	case "":
	default:
		return fmt.Errorf("-role: %q is not one of broker, producer", *role)
	}
	if err := o.validate(); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	s, err := runTrials(ctx, o, self, replayCommand(args), stderr)
	if s != nil {
		if werr := s.write(o.Out); werr != nil && err == nil {
			err = werr
		}
		_, _ = io.WriteString(stdout, s.markdown())
	}
	if err == nil && s.Totals.Failed > 0 {
		err = fmt.Errorf("%d of %d trials failed", s.Totals.Failed, s.Totals.Trials)
	}
	return err
}

// runTrials runs o.Trials trials, seeds o.Seed, o.Seed+1, …, and returns what they found
// (with what it has so far if it stops on an error).
func runTrials(ctx context.Context, o options, self, replay string, progress io.Writer) (*summary, error) {
	s := newSummary(o, time.Now(), replay)
	work := o.Work
	if work == "" {
		var err error
		if work, err = os.MkdirTemp("", "weir-chaos-*"); err != nil {
			return s, err
		}
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return s, err
	}
	if o.Weir == "" {
		o.Weir = filepath.Join(work, "weir")
		fmt.Fprintf(progress, "chaos: building the worker into %s\n", o.Weir)
		if err := buildWeir(ctx, o.Weir); err != nil {
			return s, err
		}
	}
	kept := false
	for i := range o.Trials {
		seed := o.Seed + uint64(i)
		dir := filepath.Join(work, fmt.Sprintf("seed-%d", seed))
		// A fresh directory: the count reads every object in it.
		if err := os.RemoveAll(dir); err != nil {
			return s, err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return s, err
		}
		tr := &trial{o: o, seed: seed, self: self, dir: dir, progress: progress}
		r, err := tr.run(ctx)
		if err != nil {
			return s, fmt.Errorf("seed %d: %w (files in %s)", seed, err, dir)
		}
		if err := writeJSON(filepath.Join(dir, "result.json"), r); err != nil {
			return s, err
		}
		// A SIGTERM that ended in an error fails nothing, but its worker's log says why.
		if len(r.Failures) > 0 || r.TermErrors > 0 || o.Keep {
			r.Dir, kept = dir, true
		} else if err := os.RemoveAll(dir); err != nil {
			return s, err
		}
		s.add(r)
		fmt.Fprintf(progress, "chaos: seed %d: %d records, %d kill -9, %d lost, %d duplicated, %d failures (trial %d of %d, %v)\n",
			seed, r.Records, r.Kills, r.Account.lost(), r.Account.duplicated(), len(r.Failures),
			i+1, o.Trials, r.Took)
	}
	if !kept && o.Work == "" {
		_ = os.RemoveAll(work)
	}
	return s, nil
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// buildWeir builds ./cmd/worker of the module this harness belongs to into path.
func buildWeir(ctx context.Context, path string) error {
	mod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("finding the module: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(mod)))
	cmd := exec.CommandContext(ctx, "go", "build", "-o", path, "./cmd/worker")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/worker: %w\n%s", err, out)
	}
	return nil
}

// replayCommand is the command line that replays one trial of this run: the same flags, one
// trial, its seed.
func replayCommand(args []string) string {
	var keep []string
	for i := 0; i < len(args); i++ {
		a := strings.TrimLeft(args[i], "-")
		name, _, hasValue := strings.Cut(a, "=")
		if name == "seed" || name == "trials" || name == "out" {
			if !hasValue && i+1 < len(args) {
				i++
			}
			continue
		}
		keep = append(keep, args[i])
	}
	return strings.TrimSpace("go run ./chaos -trials 1 -seed %d " + strings.Join(keep, " "))
}

// machine describes where the run happened: chaos trials are slow on a shared machine, and the
// counts must be exact regardless.
func machine() string {
	load := "unknown"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			load = f[0]
		}
	}
	return fmt.Sprintf("%d CPUs, load average %s at the start", runtime.NumCPU(), load)
}
