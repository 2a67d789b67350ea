// Command worker is weir: a stream-processing worker that consumes Kafka (or the embedded demo
// broker), computes per-window throughput, contributor (Top-N) and anomaly metrics, and writes
// them to files, CloudWatch (EMF or API) and S3.
//
//	worker [-config FILE]        run (no file: the embedded demo, output under ./out)
//	worker replay -rules … -in … evaluate contributor rules against a log file
//	worker healthcheck [URL]     exit 0 if the worker's /healthz answers 200
//
// main only parses flags, loads the configuration, handles signals and calls the worker library
// (package worker), which assembles the parts and runs them in its written shutdown order.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/weirstream/weir/worker"
)

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

func realMain(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "replay":
			return runReplay(args[1:], stdout)
		case "healthcheck":
			return runHealthcheck(args[1:], stderr)
		}
	}
	// Signals first: a SIGTERM while the configuration loads or the clients start (an ECS
	// scale-in right after a start, a fleet stopped while a worker restarts) must end the start
	// cleanly, not kill the process by the signal's default action.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		// A second signal while draining exits at once.
		<-ctx.Done()
		again := make(chan os.Signal, 1)
		signal.Notify(again, syscall.SIGINT, syscall.SIGTERM)
		<-again
		fmt.Fprintln(stderr, "weir: second signal, exiting without finishing the drain")
		os.Exit(1)
	}()
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "YAML configuration file (default: the embedded demo); WEIR_… environment variables override it")
	check := fs.Bool("check", false, "check the configuration as the start would, short of network I/O, and exit (0: valid, 2: not)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := worker.LoadConfig(*path, os.Environ())
	if err != nil {
		fmt.Fprintf(stderr, "weir: invalid configuration:\n%v\n", err)
		return 2
	}
	if *check {
		return runCheck(cfg, stdout, stderr)
	}
	log := newLogger(cfg.Log, stderr)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	w, err := worker.Build(ctx, cfg, worker.Deps{Logger: log, Registry: reg, Memory: worker.ApplyMemoryLimit(cfg.Memory, os.DirFS("/")), Status: stderr})
	if err != nil {
		if ctx.Err() != nil {
			// Asked to stop while starting: nothing was read, so nothing is committed, and the
			// start not finishing is what the signal asked for. The error (most often the
			// cancellation itself) is logged for the rare real failure it may hide.
			log.Info("stopped by a signal during start-up", "err", err)
			return 0
		}
		log.Error("startup failed", "err", err)
		return 1
	}
	if err := w.Run(ctx); err != nil {
		log.Error("worker stopped with an error", "err", err)
		return 1
	}
	return 0
}

// runCheck is -check: worker.Check, which runs the start's own steps without the network.
// Warnings the start would log (state that is not persisted, protection without an agent) are
// printed too.
func runCheck(cfg worker.Config, stdout, stderr io.Writer) int {
	logCfg := cfg.Log
	logCfg.Level = "warn"
	deps := worker.Deps{Logger: newLogger(logCfg, stderr), Registry: prometheus.NewRegistry(), Memory: worker.ApplyMemoryLimit(cfg.Memory, os.DirFS("/"))}
	if err := worker.Check(context.Background(), cfg, deps); err != nil {
		fmt.Fprintf(stderr, "weir: invalid configuration:\n%v\n", err)
		return 2
	}
	fmt.Fprintln(stdout, "configuration is valid (the brokers or stream, the bucket and the HTTP port are checked at start)")
	return 0
}

func newLogger(cfg worker.LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
