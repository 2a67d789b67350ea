package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/anomaly"
	"github.com/weirstream/weir/pipeline/contrib"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/pipeline/lag"
	"github.com/weirstream/weir/pipeline/throughput"
	"github.com/weirstream/weir/sinks/cloudwatch"
	"github.com/weirstream/weir/sinks/file"
	"github.com/weirstream/weir/sources/kafka"
)

// worker is weir assembled the way cmd/worker/build.go assembles it, from the same library
// packages: a decode plan, the throughput operator and one contributor operator per rule, the
// lag tracker and analyzer (fed by the Kafka lag poller), the anomaly analyzer with its state
// in the file sink's directory, the file sink (which also takes the dead letters) and the
// CloudWatch metrics as EMF lines in a file, the Kafka source committing only what every sink
// made durable, and one in-flight budget. What cmd/worker adds around it (HTTP server, ECS
// integrations, the scaling publisher) does not touch records.
type worker struct {
	reg     *prometheus.Registry
	budget  *pipeline.Budget
	rt      *pipeline.Runtime
	src     *kafka.Source
	lagPoll *kafka.LagPoller
}

// freshGroup names a consumer group no earlier run used, so the worker reads from the start.
func freshGroup(run string) string { return fmt.Sprintf("bench-%s-%d", run, time.Now().UnixNano()) }

// workerHooks let a scenario look inside without changing what is built: extra operators (the
// latency probe) and a wrapper around every sink (the stall, the sink timer).
type workerHooks struct {
	ops      []pipeline.Operator
	wrapSink func(pipeline.Sink) pipeline.Sink
}

func buildWorker(ctx context.Context, sp spec, h workerHooks) (*worker, error) {
	reg := prometheus.NewRegistry()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := &worker{reg: reg, budget: pipeline.NewBudget(sp.BudgetBytes)}

	format, err := decode.ParseFormat(sp.Format)
	if err != nil {
		return nil, err
	}
	plan := decode.NewPlan(format)
	ops := []pipeline.Operator{throughput.New()}
	rules, err := contrib.LoadFiles(sp.Rules)
	if err != nil {
		return nil, err
	}
	for _, r := range rules {
		op, err := contrib.New(r, plan, contrib.Options{})
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	ops = append(ops, h.ops...)

	fs, err := file.New(file.Config{Dir: sp.Dir})
	if err != nil {
		return nil, err
	}
	cwCfg := cloudwatch.Config{Mode: cloudwatch.ModeEMF, EMF: cloudwatch.EMFConfig{Path: filepath.Join(sp.Dir, "metrics.emf")}}
	cwCfg.ApplyDefaults()
	emf, err := cloudwatch.OpenEMF(cwCfg, reg, log)
	if err != nil {
		return nil, err
	}
	sinks := []pipeline.Sink{fs, emf}
	if h.wrapSink != nil {
		for i, s := range sinks {
			sinks[i] = h.wrapSink(s)
		}
	}

	kcfg := kafka.DefaultConfig()
	kcfg.Brokers, kcfg.Topics = sp.Brokers, []string{sp.Topic}
	kcfg.Group = sp.Group
	if kcfg.Group == "" {
		kcfg.Group = freshGroup(sp.Name) // read from the start
	}
	pm := pipeline.NewMetrics(reg)
	if w.src, err = kafka.New(ctx, kcfg, w.budget, reg, pm, log); err != nil {
		return nil, err
	}
	tracker, err := lag.NewTracker(lag.DefaultConfig(), reg, nil)
	if err != nil {
		return nil, err
	}
	w.lagPoll = w.src.NewLagPoller(tracker, nil)
	store, err := anomaly.NewFileStore(filepath.Join(sp.Dir, "state"))
	if err != nil {
		return nil, err
	}
	an, err := anomaly.NewAnalyzer(anomaly.DefaultAnalyzerConfig(), store, reg, log)
	if err != nil {
		return nil, err
	}
	wc := pipeline.DefaultWindowConfig()
	wc.Period, wc.TimeField = sp.Window, sp.TimeField
	w.rt, err = pipeline.New(pipeline.Options{
		Window:      wc,
		Plan:        plan,
		Operators:   ops,
		Analyzers:   []pipeline.Analyzer{&lag.Analyzer{Tracker: tracker}, an},
		Sinks:       sinks,
		DeadLetters: fs,
		Committer:   w.src,
		Budget:      w.budget,
		Metrics:     pm,
		Logger:      log,
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// running is a started worker.
type running struct {
	w       *worker
	stopSrc context.CancelFunc
	srcDone chan error
	stopAux context.CancelFunc
	auxDone chan struct{}
}

// start runs the source and the lag poller, as cmd/worker's run does.
func (w *worker) start() *running {
	w.rt.Start()
	r := &running{w: w, srcDone: make(chan error, 1), auxDone: make(chan struct{})}
	var srcCtx, auxCtx context.Context
	srcCtx, r.stopSrc = context.WithCancel(context.Background())
	auxCtx, r.stopAux = context.WithCancel(context.Background())
	go func() { r.srcDone <- w.src.Run(srcCtx, w.rt) }()
	go func() { defer close(r.auxDone); w.lagPoll.Run(auxCtx) }()
	return r
}

// stop shuts down in cmd/worker's order: stop fetching, close the runtime (flush the open
// windows, drain the sinks), then commit and leave. It returns when each step finished.
func (r *running) stop(ctx context.Context) (durable, committed time.Time, err error) {
	r.stopSrc()
	srcErr := <-r.srcDone
	r.stopAux()
	<-r.auxDone
	if err := r.w.rt.Close(ctx); err != nil {
		return durable, committed, fmt.Errorf("closing the runtime: %w", err)
	}
	durable = time.Now()
	if err := r.w.src.Close(ctx); err != nil {
		return durable, committed, fmt.Errorf("closing the source: %w", err)
	}
	return durable, time.Now(), srcErr
}
