package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weirstream/weir/pipeline"
)

// options are the orchestrator's flags. The full run (the defaults) is what the issue asks for
// and takes ~10 minutes on 2 cores; -short is what `make bench` runs, under 5 minutes.
type options struct {
	Short        bool          `json:"short"`
	Scenarios    []string      `json:"scenarios"`
	Records      int           `json:"records"`
	Reps         int           `json:"reps"`
	Stall        time.Duration `json:"stall"`
	LatencyFor   time.Duration `json:"latency_duration"`
	LoadFraction float64       `json:"latency_load_fraction"`
	Keys         []int         `json:"keys"`
	KeysRecords  int           `json:"keys_records"`
	BudgetBytes  int64         `json:"budget_bytes"`
	MemoryLimit  int64         `json:"memory_limit,omitempty"`
	Rules        []string      `json:"rules"`
	Before       string        `json:"before,omitempty"`
	Wrap         string        `json:"wrap,omitempty"`
	// Window is the standard, msgpack and keys runs' window (-window); StoreLatency slows their
	// partial store (-store-latency, -store-jitter, -store-tail).
	Window       time.Duration `json:"window"`
	StoreLatency storeLatency  `json:"store_latency,omitzero"`
	Profile      string        `json:"-"`
	Trace        bool          `json:"-"`
	Out          string        `json:"-"`
	JSON         bool          `json:"-"`

	scenarios, keys, rules, storeTail string
}

// allScenarios returns the scenario names in the order they run.
func allScenarios() []string {
	return []string{"baseline", "standard", "msgpack", "stall", "latency", "live-messy", "keys"}
}

func defaultOptions() options {
	return options{Records: 2_000_000, Stall: 60 * time.Second, LatencyFor: 60 * time.Second,
		LoadFraction: 0.5, BudgetBytes: pipeline.DefaultBudgetBytes, Window: time.Minute}
}

func (o *options) register(fl *flag.FlagSet) {
	fl.BoolVar(&o.Short, "short", false, "the short run of `make bench`: fewer records, a 10s stall, 20s of latency (flags given explicitly win)")
	fl.StringVar(&o.scenarios, "scenarios", "all", "comma-separated: "+strings.Join(allScenarios(), ",")+" (baseline always runs: every result is a ratio to it)")
	fl.IntVar(&o.Records, "records", o.Records, "records in the standard and msgpack data sets")
	fl.IntVar(&o.Reps, "reps", o.Reps, "interleaved repetitions of the baselines, standard, msgpack and the largest keys level (medians are reported); 0: one full rotation, a repetition per run in it")
	fl.DurationVar(&o.Stall, "stall", o.Stall, "how long the sink blocks in the stall scenario")
	fl.DurationVar(&o.LatencyFor, "latency-duration", o.LatencyFor, "how long the latency scenario's producer runs")
	fl.Float64Var(&o.LoadFraction, "load", o.LoadFraction, "the latency scenario's offered load, as a fraction of the measured standard rate")
	fl.StringVar(&o.keys, "keys", "1000,10000,100000,1000000", "distinct contributors per keys level")
	fl.IntVar(&o.KeysRecords, "keys-records", o.KeysRecords, "records per keys level below the largest (which runs with -records records, in every repetition); 0: -records, so every level compares with standard")
	fl.Int64Var(&o.BudgetBytes, "budget", o.BudgetBytes, "the in-flight byte budget (the worker's default without a memory limit)")
	fl.Int64Var(&o.MemoryLimit, "memory-limit", 0, "run every pipeline child as in a container of this many bytes: the worker's memory.limit_bytes, so the Go soft limit (90%) is in force and, without -budget, the budget is a quarter of it")
	fl.StringVar(&o.rules, "rules", "examples/rules/*.json", "contributor rule files (a glob, relative to the module root)")
	fl.StringVar(&o.Out, "out", "bench/results", "directory for results.json, summary.md and the plots (\"\" writes none)")
	fl.StringVar(&o.Before, "before", "", "a bench binary built from an earlier commit: its standard, msgpack and keys runs join the rotation as standard@before, …, for a before/after comparison within one run")
	fl.StringVar(&o.Wrap, "wrap", "", "a command each run's child process runs under, {run} stands for the run's name and repetition: e.g. \"valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/tmp/cg/{run}\" for instruction counts, which a busy machine does not change (timings under it mean nothing)")
	fl.DurationVar(&o.Window, "window", o.Window, "the event-time window of standard, msgpack, keys and stall (their backlogs span 20 minutes of event time, 120 minutes for stall)")
	fl.DurationVar(&o.StoreLatency.Latency, "store-latency", 0, "a delay on every partial write of the pipeline runs, as an S3 PUT takes tens of ms where the file sink takes µs (the runs of -before too: build it with this bench/ directory)")
	fl.DurationVar(&o.StoreLatency.Jitter, "store-jitter", 0, "with -store-latency: up to this much more on each write, uniformly")
	fl.StringVar(&o.storeTail, "store-tail", "", "N:DURATION: one partial write in N (at random, the same sequence every run) takes DURATION instead, a store's slow tail")
	fl.StringVar(&o.Profile, "profile", "", "directory for CPU and heap profiles of the pipeline runs")
	fl.BoolVar(&o.Trace, "trace", false, "with -profile: also an execution trace of each pipeline run (go tool trace)")
	fl.BoolVar(&o.JSON, "json", false, "print only the JSON result on stdout")
}

// finish applies -short under the flags given explicitly and checks the values.
func (o *options) finish(fl *flag.FlagSet) error {
	set := map[string]bool{}
	fl.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.Short {
		short := map[string]func(){
			"records":          func() { o.Records = 1_000_000 },
			"stall":            func() { o.Stall = 10 * time.Second },
			"latency-duration": func() { o.LatencyFor = 20 * time.Second },
			"keys":             func() { o.keys = "1000,100000,1000000" },
		}
		for name, apply := range short {
			if !set[name] {
				apply()
			}
		}
	}
	var errs []error
	switch {
	case o.MemoryLimit < 0 || (o.MemoryLimit > 0 && o.MemoryLimit < 16<<20):
		errs = append(errs, errors.New("-memory-limit: at least 16 MiB (or 0 for none)"))
	case o.MemoryLimit > 0 && !set["budget"]:
		o.BudgetBytes = 0 // derived by the worker from the limit, as in a container
	}
	if o.scenarios == "all" {
		o.Scenarios = allScenarios()
	} else {
		o.Scenarios = []string{"baseline"}
		for _, s := range strings.Split(o.scenarios, ",") {
			switch {
			case !slices.Contains(allScenarios(), s):
				errs = append(errs, fmt.Errorf("-scenarios: %q is not one of %s", s, strings.Join(allScenarios(), ",")))
			case !slices.Contains(o.Scenarios, s):
				o.Scenarios = append(o.Scenarios, s)
			}
		}
	}
	if (o.has("latency") || o.has("live-messy")) && !o.has("standard") {
		// The latency's offered load is a fraction of its rate; live-messy's rate is compared
		// with it.
		o.Scenarios = append(o.Scenarios, "standard")
	}
	for _, k := range strings.Split(o.keys, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(k))
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("-keys: %q is not a positive count", k))
			continue
		}
		o.Keys = append(o.Keys, n)
	}
	rules, err := filepath.Glob(o.rules)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("-rules: %w", err))
	case len(rules) == 0:
		errs = append(errs, fmt.Errorf("-rules: %q matches no file (run from the module root)", o.rules))
	}
	for _, r := range rules {
		abs, err := filepath.Abs(r)
		if err != nil {
			errs = append(errs, err)
		}
		o.Rules = append(o.Rules, abs)
	}
	if o.KeysRecords == 0 {
		// A level with fewer records than standard pays a run's fixed costs (starting, the
		// last windows' flush) over fewer records: with 300 k records against standard's 1 M,
		// 10^3 contributors looked slower than 10^6.
		o.KeysRecords = o.Records
	}
	if o.Records < 1000 {
		errs = append(errs, fmt.Errorf("-records: %d is below 1000", o.Records))
	}
	if o.Before != "" {
		abs, err := filepath.Abs(o.Before)
		if err != nil {
			errs = append(errs, fmt.Errorf("-before: %w", err))
		} else if fi, err := os.Stat(abs); err != nil || fi.IsDir() {
			errs = append(errs, fmt.Errorf("-before: %q is not a bench binary", o.Before))
		}
		o.Before = abs
	}
	if o.Reps == 0 {
		o.Reps = o.repeatedRuns()
	}
	if o.Reps < 1 {
		errs = append(errs, fmt.Errorf("-reps: %d is below 1", o.Reps))
	}
	if o.Stall <= 0 || o.LatencyFor < 5*time.Second {
		errs = append(errs, errors.New("-stall must be positive and -latency-duration at least 5s"))
	}
	if o.LoadFraction <= 0 || o.LoadFraction > 1 {
		errs = append(errs, fmt.Errorf("-load: %v is not in (0, 1]", o.LoadFraction))
	}
	if o.Window < time.Second || o.Window > eventSpan {
		errs = append(errs, fmt.Errorf("-window: %v is not in [1s, %v]", o.Window, eventSpan))
	}
	if o.storeTail != "" {
		every, d, err := parseTail(o.storeTail)
		if err != nil {
			errs = append(errs, fmt.Errorf("-store-tail: %w", err))
		}
		o.StoreLatency.TailEvery, o.StoreLatency.Tail = every, d
	}
	if err := o.StoreLatency.check(); err != nil {
		errs = append(errs, err)
	}
	if o.Trace && o.Profile == "" {
		errs = append(errs, errors.New("-trace needs -profile: the directory the traces go to"))
	}
	if o.Profile != "" {
		abs, err := filepath.Abs(o.Profile)
		if err != nil {
			errs = append(errs, fmt.Errorf("-profile: %w", err))
		}
		o.Profile = abs
	}
	return errors.Join(errs...)
}

func (o *options) has(scenario string) bool { return slices.Contains(o.Scenarios, scenario) }

// repeatedRuns is how many runs a repetition has (see rotation): the three baselines, standard,
// msgpack and the largest keys level, those of them that run, and the same again for -before.
// As many repetitions give every run every position once.
func (o *options) repeatedRuns() int {
	weir := 0
	for _, s := range []string{"standard", "msgpack", "keys"} {
		if o.has(s) {
			weir++
		}
	}
	if o.Before != "" {
		weir *= 2
	}
	return 3 + weir
}
