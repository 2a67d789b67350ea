package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/sinks/layout"
)

// Sink writes window outputs (reports) and dead letters to S3. It implements pipeline.Sink and
// pipeline.DeadLetterSink; its PartialStore keeps the fleet's partials in the same bucket.
//
// Every key is deterministic (sinks/layout): Write of the same Output, or WriteDeadLetters of
// the same letters, overwrites the same objects with the same bytes, so the runtime's retries
// and replays after a crash never add duplicates (effectively-once output, like the Kafka
// Connect S3 sink).
type Sink struct {
	cfg Config
	up  *uploader
	m   *metrics
	log *slog.Logger
}

// New returns an S3 sink. cfg must have had ApplyDefaults and Validate; log may be nil.
func New(api objectAPI, cfg Config, reg prometheus.Registerer, log *slog.Logger) (*Sink, error) {
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("s3: metrics: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Sink{cfg: cfg, m: m, log: log}
	s.up = &uploader{api: api, cfg: &s.cfg, m: m, log: log, gate: make(chan struct{}, cfg.Concurrency)}
	return s, nil
}

// probeKey is the object Check writes, under the prefix, at every start. No Athena table reads
// kind=probe.
const probeKey = "kind=probe/start-check.txt"

var probeBody = []byte("weir writes this object at every start to check that it may write under this prefix; it may be deleted\n")

// Check verifies at start that the sink can do what it exists for, write under its prefix, by
// putting a small object there (probeKey), so a wrong bucket name, a missing permission or an
// unusable KMS key is refused before any data flows, naming the field, instead of failing the
// first window's Write.
//
// It does not call HeadBucket: HeadBucket is authorized as s3:ListBucket on the whole bucket,
// and its request carries no s3:prefix, so a task role that may list only under its prefix
// (deploy/PERMISSIONS.md) is refused with 403 and the worker could not start.
func (s *Sink) Check(ctx context.Context) error {
	key := s.cfg.key(probeKey)
	if err := s.up.put(ctx, "probe", key, "text/plain", "", probeBody); err != nil {
		return fmt.Errorf("s3.bucket: cannot write under s3://%s/%s: %w", s.cfg.Bucket, s.cfg.Prefix, err)
	}
	return nil
}

// Name implements pipeline.Sink.
func (s *Sink) Name() string { return "s3" }

// Write implements pipeline.Sink: one object per (kind, name) of out.Reports, at
// layout.ReportKey under the prefix, in the shared JSON-lines format (layout.WriteReports, the
// same bytes the file sink writes). It returns once every object is durable, or the errors
// after retries (the window then stays unacknowledged).
func (s *Sink) Write(ctx context.Context, out *pipeline.Output) error {
	groups := layout.GroupReports(out)
	gz := *s.cfg.Gzip
	return s.parallel(ctx, len(groups), func(ctx context.Context, i int) error {
		g := &groups[i]
		var body bytes.Buffer
		if err := layout.WriteReports(&body, g.Reports, gz); err != nil {
			// A body that cannot be encoded is a bug in its operator; retrying cannot help.
			return fmt.Errorf("s3: encode %s report %q: %w", g.Kind, g.Name, err)
		}
		key := s.cfg.key(layout.ReportKey(g.Kind, g.Name, out.Window, out.Owner, gz))
		return s.up.put(ctx, g.Kind, key, "application/x-ndjson", contentEncoding(gz), body.Bytes())
	})
}

// WriteDeadLetters implements pipeline.DeadLetterSink: one object (one PUT) per stream of
// letters, whatever the partitions (layout.GroupDeadLetters; layout.DeadLetterKey names it by
// its contents), so the same letters written again land on the same key with the same bytes.
func (s *Sink) WriteDeadLetters(ctx context.Context, letters []pipeline.DeadLetter) error {
	groups := layout.GroupDeadLetters(letters)
	gz := *s.cfg.Gzip
	return s.parallel(ctx, len(groups), func(ctx context.Context, i int) error {
		g := groups[i]
		var body bytes.Buffer
		if err := layout.WriteDeadLetters(&body, g, gz); err != nil {
			return fmt.Errorf("s3: encode dead letters: %w", err)
		}
		key := s.cfg.key(layout.DeadLetterKey(g, gz))
		if err := s.up.put(ctx, "deadletter", key, "application/x-ndjson", contentEncoding(gz), body.Bytes()); err != nil {
			return err
		}
		s.m.deadLetters.Add(float64(len(g)))
		return nil
	})
}

// Close implements pipeline.Sink. The sink holds nothing between calls.
func (s *Sink) Close(context.Context) error { return nil }

// parallel runs fn for 0..n-1 with at most cfg.Concurrency at once and returns the errors
// joined. Every object is attempted even when one fails, so a retried Write has less to do.
func (s *Sink) parallel(ctx context.Context, n int, fn func(context.Context, int) error) error {
	if n == 1 {
		return fn(ctx, 0)
	}
	sem := make(chan struct{}, s.cfg.Concurrency)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			errs[i] = ctx.Err()
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = fn(ctx, i)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
