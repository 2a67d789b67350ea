package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/weirstream/weir/internal/ecs"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/anomaly"
	"github.com/weirstream/weir/pipeline/contrib"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/pipeline/lag"
	"github.com/weirstream/weir/pipeline/scaling"
	"github.com/weirstream/weir/pipeline/throughput"
	"github.com/weirstream/weir/sinks/cloudwatch"
	"github.com/weirstream/weir/sinks/file"
	"github.com/weirstream/weir/sinks/s3"
	"github.com/weirstream/weir/sources/demo"
)

// Assembly is every part of a running weir, built from a Config. Building does all the checking
// that needs more than the config itself (rule files, directories), so a bad setup fails
// before anything runs.
type Assembly struct {
	cfg     Config
	log     *slog.Logger
	reg     *prometheus.Registry
	budget  *pipeline.Budget
	rt      *pipeline.Runtime
	src     *source
	broker  *demo.Broker    // the embedded broker, with source.kind demo
	gen     *demo.Generator // the demo traffic, with source.kind demo
	sinks   []pipeline.Sink
	srv     *server
	task    ecs.TaskMetadata // zero when not on ECS
	protect *ecs.ProtectionController
	scaler  *scaling.Publisher
	s3State *s3.StateStore // state snapshots next to the outputs, when the S3 sink is on
}

// buildOption adjusts how a worker is built; tests use it to wrap the sinks.
type buildOption func(*buildOptions)

type buildOptions struct {
	wrapSink func(pipeline.Sink) pipeline.Sink
}

func Build(ctx context.Context, cfg Config, log *slog.Logger, options ...buildOption) (w *Assembly, err error) {
	var bo buildOptions
	for _, o := range options {
		o(&bo)
	}
	w = &Assembly{cfg: cfg, log: log, reg: prometheus.NewRegistry()}
	partial := w // the named result is nil on error returns; abort what was started
	defer func() {
		if err != nil {
			partial.abort()
		}
	}()
	w.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mem := memoryLimit()
	w.budget = pipeline.NewBudget(budgetBytes(cfg.BudgetBytes, mem))
	log.Info("memory", "limit_bytes", mem, "inflight_budget_bytes", w.budget.Limit())

	format, err := decode.ParseFormat(cfg.Source.Format)
	if err != nil {
		return nil, fmt.Errorf("source.format: %w", err)
	}
	plan := decode.NewPlan(format)
	ops, err := buildOperators(cfg.Contributors, plan)
	if err != nil {
		return nil, err
	}

	var deadLetters pipeline.DeadLetterSink
	var metricSink pipeline.Sink // where the scaling signal's points go
	var awsCfg aws.Config
	if cfg.usesAWS() {
		conf := cfg.AWS
		if awsCfg, err = conf.Load(ctx); err != nil {
			return nil, fmt.Errorf("aws: %w", err)
		}
	}
	if cfg.Sinks.File.Dir != "" {
		fs, err := file.New(cfg.Sinks.File)
		if err != nil {
			return nil, err
		}
		w.sinks = append(w.sinks, fs)
		deadLetters = fs
	}
	if cfg.Sinks.S3.Bucket != "" {
		conf := cfg.AWS
		client := s3.NewClient(awsCfg, &conf)
		ss, err := s3.New(client, cfg.Sinks.S3, w.reg, log)
		if err != nil {
			return nil, fmt.Errorf("sinks.s3: %w", err)
		}
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err = ss.Check(cctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("sinks.s3: %w", err)
		}
		w.sinks = append(w.sinks, ss)
		deadLetters = ss // durable beyond this container, unlike a local directory
		w.s3State = s3.NewStateStore(client, cfg.Sinks.S3)
	}
	if cfg.cloudWatchOn() {
		var cw pipeline.Sink
		switch cfg.Sinks.CloudWatch.Mode {
		case cloudwatch.ModeEMF:
			cw, err = cloudwatch.OpenEMF(cfg.Sinks.CloudWatch.Config, w.reg, log)
		default:
			conf := cfg.AWS
			cw, err = cloudwatch.New(cloudwatch.NewClient(awsCfg, &conf), cfg.Sinks.CloudWatch.Config, w.reg, log)
		}
		if err != nil {
			return nil, fmt.Errorf("sinks.cloudwatch: %w", err)
		}
		w.sinks = append(w.sinks, cw)
		metricSink = cw
	}
	if deadLetters == nil {
		return nil, errors.New("sinks: dead letters need a place to go: set sinks.file.dir or sinks.s3.bucket")
	}

	kcfg := cfg.Source.Kafka
	if cfg.Source.Kind == "demo" {
		if w.broker, err = demo.StartBroker(cfg.Source.Demo); err != nil {
			return nil, err
		}
		kcfg.Brokers, kcfg.Topics, kcfg.Group = w.broker.Addrs(), []string{cfg.Source.Demo.Topic}, "weir-demo"
		if w.gen, err = demo.NewGenerator(cfg.Source.Demo, w.broker.Addrs()); err != nil {
			return nil, err
		}
		log.Info("embedded demo broker started", "addrs", w.broker.Addrs(), "topic", cfg.Source.Demo.Topic,
			"rate", cfg.Source.Demo.Rate)
	}
	pm := pipeline.NewMetrics(w.reg)
	tracker, err := lag.NewTracker(cfg.Lag, w.reg, nil)
	if err != nil {
		return nil, err
	}
	if cfg.Source.Kind == "kinesis" {
		w.src, err = newKinesisSource(ctx, cfg.Source.Kinesis, awsCfg, w.budget, w, pm, tracker)
	} else {
		w.src, err = newKafkaSource(ctx, kcfg, w.budget, w, pm, tracker)
	}
	if err != nil {
		return nil, err
	}
	w.readTaskMetadata(ctx)
	var fleet []pipeline.Dimension
	if cfg.ServiceName != "" {
		fleet = []pipeline.Dimension{{Name: "ServiceName", Value: cfg.ServiceName}}
	}
	// Lag first: the anomaly analyzer watches the lag points too.
	analyzers := []pipeline.Analyzer{&lag.Analyzer{Tracker: tracker, Dimensions: fleet}}
	if cfg.Anomaly.Enabled {
		an, err := w.buildAnomaly(cfg)
		if err != nil {
			return nil, err
		}
		analyzers = append(analyzers, an)
	}
	if bo.wrapSink != nil {
		for i, s := range w.sinks {
			w.sinks[i] = bo.wrapSink(s)
		}
	}
	w.rt, err = pipeline.New(pipeline.Options{
		Window:      cfg.Window,
		Plan:        plan,
		Operators:   ops,
		Analyzers:   analyzers,
		Sinks:       w.sinks,
		DeadLetters: deadLetters,
		Committer:   w.src,
		Budget:      w.budget,
		Metrics:     pm,
		Logger:      log,
	})
	if err != nil {
		return nil, err
	}
	latest := &scaling.Latest{}
	meter := &lag.Meter{Tracker: tracker, Records: func() int64 { return w.rt.Stats().Records },
		Busy: lag.BusyFraction(w.reg, "runner"), Span: cfg.Scaling.Period,
		Hold: cfg.Window.Period + cfg.Window.AllowedLateness}
	w.scaler = &scaling.Publisher{Config: cfg.Scaling, TaskID: w.task.TaskID, Fleet: fleet,
		Measure: meter.Measure, Latest: latest, Metrics: scaling.NewMetrics(w.reg)}
	if metricSink != nil {
		w.scaler.Emit = func(ctx context.Context, pts []pipeline.Point) error {
			return metricSink.Write(ctx, &pipeline.Output{Points: pts})
		}
	}
	if cfg.ECS.Protection.Enabled {
		m := ecs.NewMetrics(w.reg)
		client := ecs.NewProtectionClient(os.Getenv(ecs.EnvAgentURI), nil, cfg.ECS.Protection, m)
		if !client.Available() {
			log.Warn("ecs.protection.enabled, but " + ecs.EnvAgentURI + " is not set: not on ECS, protection stays off")
		}
		w.protect = ecs.NewProtectionController(client, cfg.ECS.Protection, w.rt.Unflushed, m)
	}
	if cfg.HTTP.Addr != "" {
		if w.srv, err = newServer(cfg.HTTP.Addr, w.reg, map[string]http.Handler{"/v1/scaling": latest}); err != nil {
			return nil, fmt.Errorf("http.addr: %w", err)
		}
	}
	return w, nil
}

// buildOperators returns the throughput operator and one contributor operator per rule.
func buildOperators(cfg ContributorsConfig, plan *decode.Plan) ([]pipeline.Operator, error) {
	ops := []pipeline.Operator{throughput.New()}
	if len(cfg.Rules) == 0 {
		return ops, nil
	}
	rules, err := contrib.LoadFiles(cfg.Rules)
	if err != nil {
		return nil, fmt.Errorf("contributors.rules: %w", err)
	}
	opts := contrib.Options{TopN: cfg.TopN, TargetError: cfg.TargetError, ContributorPoints: cfg.ContributorPoints}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	for _, r := range rules {
		op, err := contrib.New(r, plan, opts)
		if err != nil {
			return nil, fmt.Errorf("contributors.rules: %w", err)
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// buildAnomaly builds the anomaly analyzer with its state store.
func (w *Assembly) buildAnomaly(cfg Config) (*anomaly.Analyzer, error) {
	// Where the detectors' state lives: an explicit directory; else the bucket, next to the
	// outputs (on ECS the container's disk does not survive the task); else the file sink's
	// directory; else nowhere.
	var store anomaly.StateStore
	dir := cfg.Anomaly.StateDir
	switch {
	case dir != "":
	case w.s3State != nil:
		store = w.s3State
	case cfg.Sinks.File.Dir != "":
		dir = filepath.Join(cfg.Sinks.File.Dir, "state")
	default:
		w.log.Warn("anomaly detector state is not persisted (no anomaly.state_dir, S3 or file sink): it relearns after a restart")
	}
	if store == nil && dir != "" {
		fs, err := anomaly.NewFileStore(dir)
		if err != nil {
			return nil, fmt.Errorf("anomaly.state_dir: %w", err)
		}
		store = fs
	}
	an, err := anomaly.NewAnalyzer(cfg.Anomaly.AnalyzerConfig, store, w.reg, w.log)
	if err != nil {
		return nil, fmt.Errorf("anomaly: %w", err)
	}
	return an, nil
}

// readTaskMetadata reads the ECS task metadata when the agent provides it (for the task-id
// dimension and the logs); not being on ECS is normal, a failure is logged and ignored.
func (w *Assembly) readTaskMetadata(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	md, ok, err := ecs.ReadTaskMetadata(ctx, nil, os.Getenv(ecs.EnvMetadataURI))
	switch {
	case err != nil:
		w.log.Warn("reading ECS task metadata failed; continuing without a task id", "err", err)
	case ok:
		w.task = md
		w.log = w.log.With("task", md.TaskID)
		w.log.Info("running on ECS", "cluster", md.Cluster, "family", md.Family, "revision", md.Revision)
	}
}

// abort releases what a failed build had started.
func (w *Assembly) abort() {
	if w.broker != nil {
		w.broker.Close()
	}
}
