package worker

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/weirstream/weir/aggregator"
	"github.com/weirstream/weir/internal/awsconf"
	"github.com/weirstream/weir/internal/ecs"
	"github.com/weirstream/weir/lag"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/anomaly"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/scaling"
	"github.com/weirstream/weir/sinks/cloudwatch"
	"github.com/weirstream/weir/sinks/file"
	"github.com/weirstream/weir/sinks/s3"
	"github.com/weirstream/weir/sources/demo"
	"github.com/weirstream/weir/sources/kafka"
	"github.com/weirstream/weir/sources/kinesis"
)

// Config is the worker's whole configuration: a YAML file (-config), then WEIR_… environment
// variables on top (see env.go), then Validate. Every field has a default, so an empty file (or
// none) runs the embedded demo.
type Config struct {
	Source SourceConfig          `yaml:"source"`
	Window pipeline.WindowConfig `yaml:"window"`
	// BudgetBytes is the in-flight byte budget. 0 derives it: a quarter of the memory limit
	// (Memory), leaving the rest to window state, sink buffers and the Go runtime;
	// pipeline.DefaultBudgetBytes (48 MiB) when no limit is known.
	BudgetBytes int64 `yaml:"budget_bytes"`
	// Memory is the memory limit the budget is sized from and the Go runtime's soft limit.
	Memory       MemoryConfig       `yaml:"memory"`
	Contributors ContributorsConfig `yaml:"contributors"`
	Sinks        SinksConfig        `yaml:"sinks"`
	// AWS is the SDK configuration shared by the AWS clients (S3, CloudWatch, Kinesis,
	// DynamoDB): region, profile, and endpoint overrides for local servers (moto, kinesalite),
	// for every service (aws.endpoint) or per service (aws.endpoints.s3, .kinesis, .dynamodb,
	// .cloudwatch). Credentials come from the SDK's default chain (on ECS, the task role).
	AWS  awsconf.Config `yaml:"aws"`
	HTTP HTTPConfig     `yaml:"http"`
	// Health configures what /healthz (liveness, the container health check) and /readyz
	// (readiness) report.
	Health HealthConfig `yaml:"health"`
	// ShutdownTimeout bounds the drain after SIGTERM: stop fetching, flush windows, drain
	// sinks, commit, release the partitions. Default 25s: ECS sends SIGKILL 30s after SIGTERM
	// by default (stopTimeout, up to 120s on Fargate; raise both together).
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// ShutdownReserve is the part of ShutdownTimeout kept for the final commit and the release
	// of the partitions (Kafka: commit, leave the group; Kinesis: checkpoint, release the
	// leases): the flush must finish ShutdownReserve before the deadline, so a flush that runs
	// long costs a replay of its windows, never the commit of what was already durable nor a
	// release (unreleased Kinesis leases sit idle for lease_duration; a member that does not
	// leave holds its partitions for session_timeout). Default 0: a quarter of
	// ShutdownTimeout, at most 5s (one commit and one release are a few round trips each).
	ShutdownReserve time.Duration `yaml:"shutdown_reserve"`
	Log             LogConfig     `yaml:"log"`
	// ECS configures the ECS integrations (task metadata is read when present).
	ECS ECSConfig `yaml:"ecs"`
	// Lag configures the lag tracker (per-partition offset and time lag, Burrow-style status).
	Lag lag.Config `yaml:"lag"`
	// Scaling configures the autoscaling signal (DesiredTasks, BacklogSecondsPerTask).
	Scaling scaling.Config `yaml:"scaling"`
	// Anomaly runs the anomaly detector on the fleet's global series, in the aggregator.
	Anomaly AnomalyConfig `yaml:"anomaly"`
	// Aggregator configures the fleet's aggregator (aggregator/README.md): grace for missing
	// partitions, polling, watched windows. Its defaults follow window.
	Aggregator aggregator.Config `yaml:"aggregator"`
	// ServiceName is the fleet's CloudWatch dimension for lag and scaling metrics (the ECS
	// service name); empty publishes them without it.
	ServiceName string `yaml:"service_name"`
	// Summary prints a one-line status every few seconds to stderr: "auto" (default: when
	// stderr is a terminal), "on" or "off".
	Summary string `yaml:"summary"`
}

// SourceConfig selects and configures the source.
type SourceConfig struct {
	// Kind is "demo" (default: an embedded broker and traffic generator), "kafka" or "kinesis".
	Kind string `yaml:"kind"`
	// Format of the payloads: "json" (default), "msgpack" or "clf". With kind demo it is the
	// generator's format (json or msgpack).
	Format  string         `yaml:"format"`
	Demo    demo.Config    `yaml:"demo"`
	Kafka   kafka.Config   `yaml:"kafka"`
	Kinesis kinesis.Config `yaml:"kinesis"`
}

// ContributorsConfig configures the contributor (Top-N) rules.
type ContributorsConfig struct {
	// Rules are files of CloudWatch Contributor Insights rules (a rule body, a named rule
	// {RuleName, RuleBody, RuleState}, or a JSON list of named rules; see contrib.LoadFile).
	// A rule whose RuleState is DISABLED is validated at start and then computes nothing.
	Rules []string `yaml:"rules"`
	// TopN contributors per report. Default 10, at most 1000.
	TopN int `yaml:"top_n"`
	// TargetError is the largest error of a contributor's value as a fraction of the window
	// total. Default 0.001.
	TargetError float64 `yaml:"target_error"`
	// ContributorPoints > 0 also publishes a metric per top contributor (costs a custom metric
	// per contributor). Default 0.
	ContributorPoints int `yaml:"contributor_points"`
}

// SinksConfig configures the sinks. The file sink is on when Dir is set; CloudWatch points go
// out as EMF lines (default in the demo) or through PutMetricData.
type SinksConfig struct {
	File       file.Config      `yaml:"file"`
	CloudWatch CloudWatchConfig `yaml:"cloudwatch"`
	// S3 is on when its bucket is set; it then also takes the dead letters.
	S3 s3.Config `yaml:"s3"`
}

// CloudWatchConfig wraps the sink's config with an on/off switch.
type CloudWatchConfig struct {
	// Enabled publishes points. Default true.
	Enabled           *bool `yaml:"enabled"`
	cloudwatch.Config `yaml:",inline"`
}

// AnomalyConfig switches the anomaly analyzer. It runs in the fleet's aggregator, its only
// writer, and its detectors' state travels in the aggregator's state object.
type AnomalyConfig struct {
	// Enabled runs the detector. Default true.
	Enabled        bool `yaml:"enabled"`
	anomaly.Config `yaml:",inline"`
}

// ECSConfig configures the ECS integrations.
type ECSConfig struct {
	// Protection holds task scale-in protection while the task drains a backlog, and through
	// its shutdown (see ecs.ProtectionConfig for the rule). Off by default.
	Protection ecs.ProtectionConfig `yaml:"protection"`
}

// HTTPConfig is the metrics and health endpoint.
type HTTPConfig struct {
	// Addr serves /metrics, /healthz and /readyz. Default ":8080"; "" disables.
	Addr string `yaml:"addr"`
}

// HealthConfig sets when the worker reports itself stuck (/healthz, `worker healthcheck`: ECS
// replaces the task) or not ready (/readyz: not doing its work now).
type HealthConfig struct {
	// StallTimeout: liveness fails when the worker has lag (records not yet committed, or time
	// behind the stream) and has neither processed a record nor made a window durable for this
	// long: a stuck runner, a sink failing for minutes (the pipeline stops once the windows it
	// holds fill), a source that cannot fetch. Default 5m. It must exceed window.period +
	// window.allowed_lateness: a quiet stream keeps an open window that long with no record
	// and no flush, and its records count as lag until the window is committed.
	StallTimeout time.Duration `yaml:"stall_timeout"`
	// SinkTimeout: readiness fails when a sink has failed every write for this long. Default
	// 1m: a write is retried with backoff (up to 30s apart), so a shorter failure is usually a
	// blip the retries absorb. At most stall_timeout: not ready comes before not live.
	SinkTimeout time.Duration `yaml:"sink_timeout"`
	// SourceTimeout: readiness fails when the source has not reached its brokers or AWS for
	// this long (Kafka: no broker answered; Kinesis: no lease-table scan, no GetRecords), or a
	// fetch was refused for authorization this recently. Default 30s: a Kafka member
	// heartbeats every 3s, a Kinesis worker scans the lease table every lease_duration/3.
	SourceTimeout time.Duration `yaml:"source_timeout"`
}

// DefaultHealthConfig returns the documented defaults.
func DefaultHealthConfig() HealthConfig {
	return HealthConfig{StallTimeout: 5 * time.Minute, SinkTimeout: time.Minute, SourceTimeout: 30 * time.Second}
}

// validate checks the fields against each other and the window (whose hold bounds how long a
// healthy quiet stream shows no progress).
func (c HealthConfig) validate(w pipeline.WindowConfig) error {
	var errs []error
	if hold := w.Period + w.AllowedLateness; c.StallTimeout <= hold {
		errs = append(errs, fmt.Errorf("health.stall_timeout: %v must be more than window.period + window.allowed_lateness (%v): "+
			"a quiet stream holds an open window that long without a record or a flush", c.StallTimeout, hold))
	}
	if c.SinkTimeout <= 0 || c.SinkTimeout > c.StallTimeout {
		errs = append(errs, fmt.Errorf("health.sink_timeout: %v must be positive and at most health.stall_timeout (%v): "+
			"a failing sink makes the worker not ready before it makes it not live", c.SinkTimeout, c.StallTimeout))
	}
	if c.SourceTimeout <= 0 {
		errs = append(errs, fmt.Errorf("health.source_timeout: %v must be positive", c.SourceTimeout))
	}
	return errors.Join(errs...)
}

// LogConfig configures the structured log (stderr).
type LogConfig struct {
	// Level is debug, info (default), warn or error.
	Level string `yaml:"level"`
	// Format is "text" (default) or "json" (for CloudWatch Logs).
	Format string `yaml:"format"`
}

// DefaultConfig returns the built-in configuration: the embedded demo, a file sink under ./out
// and EMF lines on stdout. EMF goes to stdout because that is what the awslogs driver ships to
// CloudWatch, and because a container's working directory may be read-only (distroless, ECS's
// readonlyRootFilesystem): a deployment that turns the file sink off must not need a file for
// its metrics. `make run` writes them to ./out/metrics.emf instead (WEIR_SINKS_CLOUDWATCH_EMF_PATH).
func DefaultConfig() Config {
	on := true
	cw := cloudwatch.Config{Mode: cloudwatch.ModeEMF}
	return Config{
		Source: SourceConfig{Kind: "demo", Format: "json", Demo: demo.DefaultConfig(), Kafka: kafka.DefaultConfig(),
			Kinesis: kinesis.DefaultConfig()},
		Window: pipeline.DefaultWindowConfig(),
		Sinks: SinksConfig{
			File:       file.Config{Dir: "out"},
			CloudWatch: CloudWatchConfig{Enabled: &on, Config: cw},
		},
		HTTP:            HTTPConfig{Addr: ":8080"},
		Health:          DefaultHealthConfig(),
		ShutdownTimeout: 25 * time.Second,
		Memory:          DefaultMemoryConfig(),
		Log:             LogConfig{Level: "info", Format: "text"},
		Summary:         "auto",
		ECS:             ECSConfig{Protection: ecs.DefaultProtectionConfig()},
		Lag:             lag.DefaultConfig(),
		Anomaly:         AnomalyConfig{Enabled: true, Config: anomaly.DefaultConfig()},
		Scaling:         scaling.DefaultConfig(),
	}
}

// LoadConfig reads path (if not empty) over the defaults, applies the environment, and
// validates. Unknown YAML fields are errors: a typo must not silently fall back to a default.
func LoadConfig(path string, environ []string) (Config, error) {
	cfg := DefaultConfig()
	var data []byte
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
	}
	if err := checkRemoved(data, environ); err != nil {
		return cfg, err
	}
	if path != "" {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) { // EOF: an empty file
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := applyEnv(&cfg, environ); err != nil {
		return cfg, err
	}
	cfg.applyDefaults()
	return cfg, cfg.Validate()
}

// applyDefaults fills the sinks' fields that default to values derived at load time. It is
// idempotent; Build applies it too, for configurations made in code.
func (c *Config) applyDefaults() {
	c.Aggregator.ApplyDefaults(c.Window)
	c.Sinks.CloudWatch.ApplyDefaults()
	if c.Sinks.S3.Bucket != "" {
		c.Sinks.S3.ApplyDefaults()
	}
}

// Validate checks every section; the messages name the fields as written in YAML.
func (c Config) Validate() error {
	var errs []error
	switch c.Source.Kind {
	case "demo":
		errs = append(errs, c.Source.Demo.Validate())
		if c.Source.Format != c.Source.Demo.Format && c.Source.Format != "json" {
			errs = append(errs, fmt.Errorf("source.format: %q, but the demo generates %q (set source.demo.format)", c.Source.Format, c.Source.Demo.Format))
		}
	case "kafka":
		errs = append(errs, prefix("source.", c.Source.Kafka.Validate()))
	case "kinesis":
		errs = append(errs, c.Source.Kinesis.Validate())
	default:
		errs = append(errs, fmt.Errorf("source.kind: %q is not one of demo, kafka, kinesis", c.Source.Kind))
	}
	if _, err := decode.ParseFormat(c.Source.Format); err != nil {
		errs = append(errs, fmt.Errorf("source.format: %w", err))
	}
	errs = append(errs, c.Window.Validate())
	if c.Window.Validate() == nil {
		errs = append(errs, c.Aggregator.Validate(c.Window))
	}
	errs = append(errs, c.Memory.Validate())
	if c.BudgetBytes != 0 && c.BudgetBytes < 1<<20 {
		errs = append(errs, fmt.Errorf("budget_bytes: %d is below 1 MiB", c.BudgetBytes))
	}
	if c.Sinks.File.Dir == "" && c.Sinks.S3.Bucket == "" {
		errs = append(errs, errors.New("sinks: partials, dead letters and reports need sinks.file.dir or sinks.s3.bucket"))
	}
	if c.cloudWatchOn() {
		errs = append(errs, prefix("sinks.", c.Sinks.CloudWatch.Validate()))
	}
	if c.Sinks.S3.Bucket != "" {
		errs = append(errs, prefix("sinks.", c.Sinks.S3.Validate()))
	}
	if c.usesAWS() {
		errs = append(errs, c.AWS.Validate(c.awsServices()...))
	}
	if c.ShutdownTimeout < time.Second || c.ShutdownTimeout > 120*time.Second {
		errs = append(errs, fmt.Errorf("shutdown_timeout: %v is not in [1s, 120s] (Fargate's stopTimeout maximum)", c.ShutdownTimeout))
	}
	if c.ShutdownReserve < 0 || (c.ShutdownReserve > 0 && c.ShutdownReserve > c.ShutdownTimeout/2) {
		errs = append(errs, fmt.Errorf("shutdown_reserve: %v is not in [0, shutdown_timeout/2 = %v] (the flush needs the rest)", c.ShutdownReserve, c.ShutdownTimeout/2))
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log.level: %q is not one of debug, info, warn, error", c.Log.Level))
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		errs = append(errs, fmt.Errorf("log.format: %q is not one of text, json", c.Log.Format))
	}
	errs = append(errs, c.Lag.Validate(), c.Scaling.Validate(), c.Health.validate(c.Window))
	if c.Anomaly.Enabled {
		errs = append(errs, c.Anomaly.Validate())
	}
	if c.ECS.Protection.Enabled {
		errs = append(errs, c.ECS.Protection.Validate())
	}
	if c.Summary != "auto" && c.Summary != "on" && c.Summary != "off" {
		errs = append(errs, fmt.Errorf("summary: %q is not one of auto, on, off", c.Summary))
	}
	return errors.Join(errs...)
}

// shutdownReserve is ShutdownReserve with its default applied.
func (c Config) shutdownReserve() time.Duration {
	if c.ShutdownReserve > 0 {
		return c.ShutdownReserve
	}
	return min(c.ShutdownTimeout/4, 5*time.Second)
}

// usesAWS reports whether any part talks to AWS (and so needs the aws: section).
func (c Config) usesAWS() bool {
	return c.Source.Kind == "kinesis" || c.Sinks.S3.Bucket != "" || (c.cloudWatchOn() && c.Sinks.CloudWatch.Mode == cloudwatch.ModeAPI) ||
		c.Source.Kafka.SASL.Mechanism == "aws-msk-iam"
}

// awsServices lists the AWS services the configuration calls (MSK IAM authentication calls
// none of them: it only signs with the credentials).
func (c Config) awsServices() []awsconf.Service {
	var use []awsconf.Service
	if c.Source.Kind == "kinesis" {
		use = append(use, awsconf.Kinesis, awsconf.DynamoDB)
	}
	if c.Sinks.S3.Bucket != "" {
		use = append(use, awsconf.S3)
	}
	if c.cloudWatchOn() && c.Sinks.CloudWatch.Mode == cloudwatch.ModeAPI {
		use = append(use, awsconf.CloudWatch)
	}
	return use
}

func (c Config) cloudWatchOn() bool {
	return c.Sinks.CloudWatch.Enabled == nil || *c.Sinks.CloudWatch.Enabled
}

// prefix qualifies the field names in a section's errors ("kafka.brokers" →
// "source.kafka.brokers"), keeping one error per line.
func prefix(p string, err error) error {
	if err == nil {
		return nil
	}
	var out []error
	for _, line := range bytes.Split([]byte(err.Error()), []byte("\n")) {
		if len(line) > 0 {
			out = append(out, errors.New(p+string(line)))
		}
	}
	return errors.Join(out...)
}
