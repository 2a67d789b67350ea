package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/sinks/file"
	"github.com/weirstream/weir/worker"
)

// freshGroup names a consumer group no earlier run used, so the worker reads from the start.
func freshGroup(run string) string { return fmt.Sprintf("bench-%s-%d", run, time.Now().UnixNano()) }

// workerConfig is the worker's configuration for a pipeline spec: the defaults cmd/worker runs
// with, reading the spec's topic with the Kafka source, the spec's rules, window and budget,
// and the file sink (which also takes the dead letters and the anomaly state) and the
// CloudWatch metrics as EMF lines under the spec's directory. No HTTP server and no summary
// line: the orchestrator reads the child's results on stdout.
func workerConfig(sp spec) worker.Config {
	cfg := worker.DefaultConfig()
	cfg.Source.Kind, cfg.Source.Format = "kafka", sp.Format
	cfg.Source.Kafka.Brokers, cfg.Source.Kafka.Topics = sp.Brokers, []string{sp.Topic}
	cfg.Source.Kafka.Group = sp.Group
	if cfg.Source.Kafka.Group == "" {
		cfg.Source.Kafka.Group = freshGroup(sp.Name) // read from the start
	}
	cfg.BudgetBytes = sp.BudgetBytes
	cfg.Memory.LimitBytes = sp.MemoryLimit
	cfg.Window.Period, cfg.Window.TimeField = sp.Window, sp.TimeField
	if sp.IdleTimeout > 0 {
		cfg.Window.IdleTimeout = sp.IdleTimeout
	}
	if sp.Lateness > 0 {
		cfg.Window.AllowedLateness = sp.Lateness
	}
	cfg.Contributors.Rules = sp.Rules
	cfg.Sinks.File = file.Config{Dir: sp.Dir}
	cfg.Sinks.CloudWatch.EMF.Path = filepath.Join(sp.Dir, "metrics.emf")
	cfg.HTTP.Addr = ""
	cfg.Summary = "off"
	cfg.ShutdownTimeout = 2 * time.Minute
	return cfg
}

// benchWorker is weir assembled by the worker library, exactly as cmd/worker assembles it,
// with the scenario's hooks: extra operators (the latency probe) and a wrapper around every
// sink (the stall, the sink timer).
type benchWorker struct {
	*worker.Assembly
	reg *prometheus.Registry

	stopRun context.CancelFunc
	runDone chan error
	// durable and committed are when the shutdown closed the runtime (every window durable in
	// every sink) and when the source's final commit was done; set by Run's goroutine, read
	// after it returned.
	mu                 sync.Mutex
	durable, committed time.Time
}

func buildWorker(ctx context.Context, sp spec, h worker.Hooks) (*benchWorker, error) {
	w := &benchWorker{reg: prometheus.NewRegistry()}
	h.Stopped = func(part string) {
		w.mu.Lock()
		defer w.mu.Unlock()
		switch part {
		case worker.PartPipeline:
			w.durable = time.Now()
		case worker.PartCommit:
			w.committed = time.Now()
		}
	}
	cfg := workerConfig(sp)
	var mem worker.MemoryLimit
	if sp.MemoryLimit > 0 {
		// What cmd/worker does at start; the child is one worker, so the process-wide soft
		// limit is its own.
		mem = worker.ApplyMemoryLimit(cfg.Memory, os.DirFS("/"))
	}
	a, err := worker.Build(ctx, cfg, worker.Deps{
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Registry: w.reg,
		Memory:   mem,
		Hooks:    h,
	})
	if err != nil {
		return nil, err
	}
	w.Assembly = a
	return w, nil
}

// start runs the worker until stop.
func (w *benchWorker) start() {
	ctx, cancel := context.WithCancel(context.Background())
	w.stopRun, w.runDone = cancel, make(chan error, 1)
	go func() { w.runDone <- w.Run(ctx) }()
}

// stop shuts the worker down as a SIGTERM does (stop fetching, close the runtime: flush the
// open windows and drain the sinks, then commit and leave) and returns when the runtime closed
// and when the commit was done.
func (w *benchWorker) stop() (durable, committed time.Time, err error) {
	w.stopRun()
	err = <-w.runDone
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.durable, w.committed, err
}
