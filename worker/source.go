package worker

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/lag"
	"github.com/weirstream/weir/sources/kafka"
	"github.com/weirstream/weir/sources/kinesis"
)

// source is what the worker needs of either source: run until the context ends (returning once
// it stopped fetching), take commit points from the runtime, and commit and release at Close.
type source struct {
	pipeline.Committer
	run   func(ctx context.Context, rt *pipeline.Runtime) error
	close func(ctx context.Context) error
	// lag renders the source's own view of its lag for the live summary.
	lag func() string
	// lagFeed keeps the lag tracker current (Kafka: end and committed offsets from the brokers;
	// Kinesis: MillisBehindLatest of the held shards) until its context ends.
	lagFeed interface{ Run(context.Context) }
}

// newKafkaSource builds the Kafka source (also used by the demo, against its embedded broker).
func newKafkaSource(ctx context.Context, cfg kafka.Config, budget *pipeline.Budget, w *Assembly,
	pm *pipeline.Metrics, tracker *lag.Tracker) (*source, error) {
	k, err := kafka.New(ctx, cfg, budget, w.reg, pm, w.log)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	return &source{
		Committer: k,
		run:       func(ctx context.Context, rt *pipeline.Runtime) error { return k.Run(ctx, rt) },
		close:     k.Close,
		lag:       func() string { return strconv.FormatInt(k.Lag(), 10) },
		lagFeed:   k.NewLagPoller(tracker, nil),
	}, nil
}

// newKinesisSource builds the Kinesis source. Its lag shows as time behind (MillisBehindLatest).
func newKinesisSource(ctx context.Context, cfg kinesis.Config, awsCfg aws.Config, budget *pipeline.Budget,
	w *Assembly, pm *pipeline.Metrics, tracker *lag.Tracker) (*source, error) {
	k, err := kinesis.New(ctx, cfg, awsCfg, budget, w.reg, pm, w.log)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	return &source{
		Committer: k,
		run:       func(ctx context.Context, rt *pipeline.Runtime) error { return k.Run(ctx, rt) },
		close:     k.Close,
		lag:       func() string { return k.Lag().String() },
		lagFeed:   k.NewLagSampler(tracker, nil),
	}, nil
}
