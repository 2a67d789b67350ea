package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/aggregator"
	"github.com/weirstream/weir/internal/ecs"
	"github.com/weirstream/weir/lag"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/anomaly"
	"github.com/weirstream/weir/pipeline/contrib"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/pipeline/throughput"
	"github.com/weirstream/weir/sinks/cloudwatch"
	"github.com/weirstream/weir/sinks/file"
	"github.com/weirstream/weir/sinks/s3"
	"github.com/weirstream/weir/sources/demo"
)

// Assembly is every part of a running weir, built from a Config by Build and run by Run.
type Assembly struct {
	cfg     Config
	log     *slog.Logger
	reg     *prometheus.Registry
	hooks   Hooks
	status  io.Writer
	budget  *pipeline.Budget
	rt      *pipeline.Runtime
	src     Source
	tracker *lag.Tracker
	broker  *demo.Broker    // the embedded broker, with source.kind demo
	gen     *demo.Generator // the demo traffic, with source.kind demo
	// reports are the sinks of the aggregator's reports (file, S3); metrics the CloudWatch
	// points' (EMF or API), when on. Both are closed at the end of the shutdown.
	reports []pipeline.Sink
	metrics pipeline.Sink
	agg     *aggregator.Aggregator // nil offline (Check)
	lagPts  *lagPublisher
	srv     *server
	health  *health
	task    ecs.TaskMetadata // zero when not on ECS
	protect *ecs.ProtectionController
	scale   fleetScaling

	// offline is set while Check builds: every step that would talk to the network, start
	// something or leave something behind is replaced by its check (see Check).
	offline bool
}

// Build checks cfg and builds every part of a worker from it, without starting any. Building
// does all the checking that needs more than the config itself (rule files, directories, the
// S3 bucket, the HTTP port), so a bad setup fails here, naming the field, before anything runs.
// On error, what was already started (the embedded demo broker) is released.
func Build(ctx context.Context, cfg Config, deps Deps) (*Assembly, error) {
	return build(ctx, cfg, deps, false)
}

// build is Build and, with offline set, Check: one sequence of steps, so that what -check
// accepts and what the start accepts cannot drift apart.
func build(ctx context.Context, cfg Config, deps Deps, offline bool) (a *Assembly, err error) {
	if deps.Logger == nil || deps.Registry == nil {
		return nil, errors.New("worker: Deps.Logger and Deps.Registry are required")
	}
	cfg.applyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a = &Assembly{cfg: cfg, log: deps.Logger, reg: deps.Registry, hooks: deps.Hooks, status: deps.Status, offline: offline}
	warnConfig(cfg, a.log)
	partial := a // the named result is nil on error returns; abort what was started
	defer func() {
		if err != nil {
			partial.abort()
		}
	}()
	a.budget = pipeline.NewBudget(budgetBytes(cfg.BudgetBytes, deps.Memory.Bytes))
	a.log.Info("memory", "limit_bytes", deps.Memory.Bytes, "limit_from", deps.Memory.From,
		"go_soft_limit_bytes", deps.Memory.GoSoftLimit, "go_soft_limit_from", deps.Memory.GoSoftFrom,
		"inflight_budget_bytes", a.budget.Limit())

	format, err := decode.ParseFormat(cfg.Source.Format)
	if err != nil {
		return nil, fmt.Errorf("source.format: %w", err)
	}
	plan := decode.NewPlan(format)
	var builtin []*contrib.Rule // the demo's own rule, when no rules are configured
	if cfg.Source.Kind == "demo" && len(cfg.Contributors.Rules) == 0 {
		r, err := contrib.ParseRule(demo.RuleName, demo.Rule(cfg.Source.Demo.Topic))
		if err != nil {
			return nil, fmt.Errorf("the demo's built-in rule: %w", err)
		}
		builtin = []*contrib.Rule{r}
	}
	ops, err := buildOperators(cfg.Contributors, plan, builtin, a.log)
	if err != nil {
		return nil, err
	}
	ops = append(ops, a.hooks.Operators...)

	var awsCfg aws.Config
	if cfg.usesAWS() {
		conf := cfg.AWS
		if awsCfg, err = conf.Load(ctx, cfg.awsServices()...); err != nil {
			return nil, fmt.Errorf("aws: %w", err)
		}
	}
	stores, err := a.buildSinks(ctx, awsCfg)
	if err != nil {
		return nil, err
	}

	pm := pipeline.NewMetrics(a.reg)
	if a.tracker, err = lag.NewTracker(cfg.Lag, a.reg, nil); err != nil {
		return nil, err
	}
	if a.src, err = a.newSource(ctx, awsCfg, pm); err != nil {
		return nil, err
	}
	if !a.offline {
		a.readTaskMetadata(ctx)
	}
	var fleet []pipeline.Dimension
	if cfg.ServiceName != "" {
		fleet = []pipeline.Dimension{{Name: "ServiceName", Value: cfg.ServiceName}}
	}
	a.buildScaling(stores.partials, fleet)
	var partials pipeline.PartialWriter = stores.partials
	if a.src != nil { // offline, without the Kafka client (see newSource), there is no seat to hold
		if err := a.buildAggregator(ops, stores.partials); err != nil {
			return nil, err
		}
		partials = notifying{stores.partials, a.agg}
	} else if cfg.Anomaly.Enabled {
		if _, err := anomaly.NewAnalyzer(cfg.Anomaly.Config, nil, prometheus.NewRegistry(), a.log); err != nil {
			return nil, fmt.Errorf("anomaly: %w", err)
		}
	}
	if a.hooks.WrapPartials != nil {
		partials = a.hooks.WrapPartials(partials)
	}
	var committer pipeline.Committer = a.src
	if a.src == nil { // offline, without the Kafka client (see newSource)
		committer = noCommits{}
	}
	a.rt, err = pipeline.New(pipeline.Options{
		Window:      cfg.Window,
		Plan:        plan,
		Operators:   ops,
		Partials:    partials,
		DeadLetters: stores.deadLetters,
		Committer:   committer,
		Budget:      a.budget,
		Metrics:     pm,
		Logger:      a.log,
	})
	if err != nil {
		return nil, err
	}
	a.lagPts = &lagPublisher{analyzer: &lag.Analyzer{Tracker: a.tracker, Dimensions: fleet}, every: cfg.Window.Period,
		sink: a.metrics, log: a.log}
	stats := a.rt.Stats
	if a.agg != nil { // the aggregator's report and metric sinks count as this worker's sinks
		stats = func() pipeline.Stats {
			st := a.rt.Stats()
			st.SinkErrors += a.agg.SinkErrors()
			return st
		}
	}
	meter := &pipeline.HealthMeter{Stats: stats}
	if ce, ok := a.src.(commitErrorCounter); ok {
		meter.CommitErrors = ce.CommitErrors
	}
	a.scale.health = &healthPoints{meter: meter, tracker: a.tracker, every: cfg.Scaling.Period,
		fleet: fleet, sink: a.metrics, log: a.log}
	if cfg.ECS.Protection.Enabled {
		m := ecs.NewMetrics(a.reg)
		client := ecs.NewProtectionClient(os.Getenv(ecs.EnvAgentURI), nil, cfg.ECS.Protection, m)
		if !client.Available() {
			a.log.Warn("ecs.protection.enabled, but " + ecs.EnvAgentURI + " is not set: not on ECS, protection stays off")
		}
		a.protect = ecs.NewProtectionController(client, cfg.ECS.Protection, a.protectionWanted, m)
	}
	a.health = newHealth(cfg.Health, a.src, a.rt, a.tracker, time.Now())
	if err := a.reg.Register(a.health.collector()); err != nil {
		return nil, fmt.Errorf("health metrics: %w", err)
	}
	if cfg.HTTP.Addr != "" {
		if a.offline {
			err = checkAddr(cfg.HTTP.Addr)
		} else {
			a.srv, err = newServer(cfg.HTTP.Addr, a.reg, a.health, map[string]http.Handler{"/v1/scaling": a.scale.latest})
		}
		if err != nil {
			return nil, fmt.Errorf("http.addr: %w", err)
		}
	}
	return a, nil
}

// stores are where this worker's writes go besides the reports: every partition's partials
// and the dead letters.
type stores struct {
	partials    partialStore
	deadLetters pipeline.DeadLetterSink
}

// buildSinks builds the configured sinks: the report sinks (a.reports), the metric sink
// (a.metrics) and the stores (storePolicy decides which ones).
func (a *Assembly) buildSinks(ctx context.Context, awsCfg aws.Config) (stores, error) {
	cfg := a.cfg
	var fs *file.Sink
	if cfg.Sinks.File.Dir != "" {
		var err error
		if fs, err = file.New(cfg.Sinks.File); err != nil { // creates nothing yet: offline too
			return stores{}, err
		}
		a.reports = append(a.reports, fs)
	}
	var ss *s3.Sink
	var reads *awss3.Client
	if cfg.Sinks.S3.Bucket != "" {
		conf := cfg.AWS
		client := s3.NewClient(awsCfg, &conf)
		var err error
		if ss, err = s3.New(client, cfg.Sinks.S3, a.reg, a.log); err != nil {
			return stores{}, fmt.Errorf("sinks.s3: %w", err)
		}
		a.reports = append(a.reports, ss)
		reads = client
	}
	if cfg.cloudWatchOn() {
		var err error
		switch {
		case cfg.Sinks.CloudWatch.Mode == cloudwatch.ModeEMF && a.offline:
			if err = cloudwatch.CheckEMF(cfg.Sinks.CloudWatch.Config); err == nil {
				a.metrics, err = cloudwatch.NewEMF(io.Discard, cfg.Sinks.CloudWatch.Config, a.reg, a.log)
			}
		case cfg.Sinks.CloudWatch.Mode == cloudwatch.ModeEMF:
			a.metrics, err = cloudwatch.OpenEMF(cfg.Sinks.CloudWatch.Config, a.reg, a.log)
		default:
			conf := cfg.AWS
			a.metrics, err = cloudwatch.New(cloudwatch.NewClient(awsCfg, &conf), cfg.Sinks.CloudWatch.Config, a.reg, a.log)
		}
		if err != nil {
			return stores{}, fmt.Errorf("sinks.cloudwatch: %w", err)
		}
	}
	st := storePolicy(fs, ss, reads)
	if st.partials == nil {
		return stores{}, errors.New("sinks: partials and dead letters need a place to go: set sinks.file.dir or sinks.s3.bucket")
	}
	// The bucket's check needs the network: after every local one, so those fail at once.
	if ss != nil && !a.offline {
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err := ss.Check(cctx)
		cancel()
		if err != nil {
			return stores{}, fmt.Errorf("sinks.s3: %w", err)
		}
	}
	return st, nil
}

// buildOperators returns the throughput operator and one contributor operator per enabled rule:
// the configured rules, or builtin when none are. A disabled rule is checked against the
// stream's format as an enabled one would be (on a plan of its own, so that its fields are
// never decoded) and then left out.
func buildOperators(cfg ContributorsConfig, plan *decode.Plan, builtin []*contrib.Rule, log *slog.Logger) ([]pipeline.Operator, error) {
	ops := []pipeline.Operator{throughput.New()}
	rules := builtin
	if len(cfg.Rules) > 0 {
		var err error
		if rules, err = contrib.LoadFiles(cfg.Rules); err != nil {
			return nil, fmt.Errorf("contributors.rules: %w", err)
		}
	}
	if len(rules) == 0 {
		return ops, nil
	}
	opts := contrib.Options{TopN: cfg.TopN, TargetError: cfg.TargetError, ContributorPoints: cfg.ContributorPoints}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	for _, r := range rules {
		p := plan
		if r.Disabled {
			p = decode.NewPlan(plan.Format())
		}
		op, err := contrib.New(r, p, opts)
		if err != nil {
			return nil, fmt.Errorf("contributors.rules: %w", err)
		}
		if r.Disabled {
			log.Info("contributor rule disabled (RuleState DISABLED): loaded and valid, computes nothing", "rule", r.Name)
			continue
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// readTaskMetadata reads the ECS task metadata when the agent provides it (for the task-id
// dimension and the logs); not being on ECS is normal, a failure is logged and ignored.
func (a *Assembly) readTaskMetadata(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	md, ok, err := ecs.ReadTaskMetadata(ctx, nil, os.Getenv(ecs.EnvMetadataURI))
	switch {
	case err != nil:
		a.log.Warn("reading ECS task metadata failed; continuing without a task id", "err", err)
	case ok:
		a.task = md
		a.log = a.log.With("task", md.TaskID)
		a.log.Info("running on ECS", "cluster", md.Cluster, "family", md.Family, "revision", md.Revision)
	}
}

// abort releases what a failed Build had started (and what Check built).
func (a *Assembly) abort() {
	if a.src != nil {
		// The Kafka client is already joining the group: leave (a few hundred ms at most,
		// see kafka.Source.Close) so the fleet does not wait for a member that never starts.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = a.src.Close(ctx)
		cancel()
	}
	if a.broker != nil {
		a.broker.Close()
	}
}

// Unflushed reports whether any partition holds records not yet durable (open windows, partials
// not yet written): a harness that wants every window reported waits for false before it
// stops the worker, which leaves its open windows to the partitions' next owner.
func (a *Assembly) Unflushed() bool { return a.rt.Unflushed() }

// Stats returns the runtime's running totals (records, partials written, in-flight bytes).
func (a *Assembly) Stats() pipeline.Stats { return a.rt.Stats() }

// PooledBytes is the memory the source's free lists hold idle (0 for a source without any).
func (a *Assembly) PooledBytes() int64 {
	if p, ok := a.src.(interface{ PooledBytes() int64 }); ok {
		return p.PooledBytes()
	}
	return 0
}

// Budget returns the worker's in-flight byte budget.
func (a *Assembly) Budget() *pipeline.Budget { return a.budget }
