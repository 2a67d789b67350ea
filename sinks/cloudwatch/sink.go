package cloudwatch

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/internal/awsconf"
	"github.com/weirstream/weir/pipeline"
)

// putMetricDataAPI is the one call the sink makes; *cloudwatch.Client implements it, and tests
// wrap it to inject faults.
type putMetricDataAPI interface {
	PutMetricData(ctx context.Context, in *cloudwatch.PutMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error)
}

// NewClient returns a CloudWatch client for awsCfg, at aws.endpoints.cloudwatch when that is
// set. With any endpoint override (weir's or the SDK's variables: a local moto) it speaks
// awsQuery: service/cloudwatch >= v1.53 defaults to Smithy RPCv2 CBOR, which moto cannot
// parse; real CloudWatch understands both, and CBOR is smaller, so it stays the default there.
func NewClient(awsCfg aws.Config, conf *awsconf.Config, optFns ...func(*cloudwatch.Options)) *cloudwatch.Client {
	if endpoint := conf.BaseEndpoint(awsconf.CloudWatch); endpoint != nil {
		optFns = append([]func(*cloudwatch.Options){func(o *cloudwatch.Options) { o.BaseEndpoint = endpoint }}, optFns...)
	}
	if conf.Overridden(awsconf.CloudWatch) {
		optFns = append([]func(*cloudwatch.Options){func(o *cloudwatch.Options) {
			o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801)
		}}, optFns...)
	}
	return cloudwatch.NewFromConfig(awsCfg, optFns...)
}

// Sink publishes Output.Points with PutMetricData: folded into as few datums as CloudWatch
// allows, packed into requests at CloudWatch's limits, paced by a token bucket and retried with
// backoff on throttling, 5xx and network errors.
//
// CloudWatch is not idempotent: a datum sent twice counts twice. Requests of one Output are
// sent in a fixed order and the sink remembers which succeeded, so a Write that fails part way
// and is called again with the same Output (same window and owner) sends only the rest.
type Sink struct {
	api  putMetricDataAPI
	cfg  Config
	pace *pacer
	m    *apiMetrics
	log  *slog.Logger
	now  func() time.Time

	mu     sync.Mutex // serializes Write; the runtime calls it from one goroutine anyway
	resume *progress  // requests already accepted of the last Output whose Write failed
}

// progress records which requests of one Output CloudWatch accepted.
type progress struct {
	window pipeline.Window
	owner  string
	now    time.Time // the clock of the first attempt
	done   []bool
}

func (p *progress) matches(out *pipeline.Output, n int) bool {
	return p != nil && p.window == out.Window && p.owner == out.Owner && len(p.done) == n
}

// New returns a PutMetricData sink. cfg must have had ApplyDefaults and Validate. log may be nil.
func New(api putMetricDataAPI, cfg Config, reg prometheus.Registerer, log *slog.Logger) (*Sink, error) {
	m, err := newAPIMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("cloudwatch: metrics: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sink{api: api, cfg: cfg, pace: newPacer(cfg.RequestsPerSecond, cfg.Burst, time.Now), m: m, log: log, now: time.Now}, nil
}

// Name implements pipeline.Sink.
func (s *Sink) Name() string { return "cloudwatch" }

// Write implements pipeline.Sink. It returns nil once CloudWatch accepted every request of
// out, or the error of the request it gave up on (a permanent error, ctx's end, or transient
// errors for longer than retry.give_up_after); the window then stays unacknowledged.
func (s *Sink) Write(ctx context.Context, out *pipeline.Output) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// A retry of the same Output reuses the first attempt's clock, so the too_old cut (and with
	// it every request) comes out the same and the accepted requests can be skipped.
	now := s.now()
	if p := s.resume; p != nil && p.window == out.Window && p.owner == out.Owner {
		now = p.now
	}
	b := buildBatch(out.Points, s.cfg, now)
	for reason, n := range b.drops {
		s.m.dropped.WithLabelValues(reason).Add(float64(n))
		s.log.Warn("cloudwatch: points dropped", "reason", reason, "points", n, "window", out.Window.Start)
	}
	prog := s.resume
	if !prog.matches(out, len(b.requests)) {
		prog = &progress{window: out.Window, owner: out.Owner, now: now, done: make([]bool, len(b.requests))}
	}
	s.resume = nil
	for i, req := range b.requests {
		if prog.done[i] {
			continue
		}
		if err := s.put(ctx, req); err != nil {
			s.resume = prog
			return fmt.Errorf("cloudwatch: window %s: request %d of %d: %w", out.Window.Start.UTC().Format(time.RFC3339), i+1, len(b.requests), err)
		}
		prog.done[i] = true
		s.m.datums.Add(float64(len(req)))
		s.m.values.Add(float64(b.points[i]))
	}
	return nil
}

// put sends one request, paced, retrying transient errors.
func (s *Sink) put(ctx context.Context, data []types.MetricDatum) error {
	in := &cloudwatch.PutMetricDataInput{Namespace: aws.String(s.cfg.Namespace), MetricData: data}
	return s.cfg.Retry.Do(ctx, func(ctx context.Context) error {
		start := s.now()
		if err := s.pace.Wait(ctx); err != nil {
			return err
		}
		s.m.wait.Observe(time.Since(start).Seconds())
		start = time.Now()
		_, err := s.api.PutMetricData(ctx, in)
		s.m.latency.Observe(time.Since(start).Seconds())
		if err != nil {
			s.m.requests.WithLabelValues("error").Inc()
			return err
		}
		s.m.requests.WithLabelValues("ok").Inc()
		return nil
	}, func(reason string, err error) {
		s.m.errors.WithLabelValues(reason).Inc()
		s.log.Warn("cloudwatch: PutMetricData failed", "reason", reason, "datums", len(data), "err", err)
	})
}

// Close implements pipeline.Sink; the sink buffers nothing between Writes.
func (s *Sink) Close(context.Context) error { return nil }
