package worker

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/weirstream/weir/lag"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/sources/demo"
	"github.com/weirstream/weir/sources/kafka"
	"github.com/weirstream/weir/sources/kinesis"
)

// Source is what the worker needs of a source. *kafka.Source and *kinesis.Source implement it.
type Source interface {
	// Committer takes the runtime's commit points (see pipeline.Committer).
	pipeline.Committer
	// Run feeds the runtime's partitions until ctx ends and returns once it stopped fetching.
	// An error before then (the client closed under it) stops the worker.
	Run(ctx context.Context, rt pipeline.Assigner) error
	// Close commits what the runtime made durable and releases the partitions (leaves the
	// group, releases the leases). The worker calls it after the runtime closed.
	Close(ctx context.Context) error
	// TrackLag keeps the lag tracker current until ctx ends (Kafka: end and committed offsets
	// from the brokers; Kinesis: MillisBehindLatest of the held shards).
	TrackLag(ctx context.Context, tr *lag.Tracker)
	// Ready returns why the source cannot do its work at now, nil when it can: connected
	// (something answered within the last within), a member of its fleet, not refused
	// (readiness; see health). A member with nothing assigned is ready. Called concurrently.
	Ready(now time.Time, within time.Duration) error
	// WatchLeadership reports when this worker comes to hold, and gives up, the fleet's
	// aggregator's seat (Kafka: partition 0 of the first topic; Kinesis: the lease table's
	// aggregator row). Called before Run.
	WatchLeadership(fn func(held bool, token int64))
	// Partitions lists the partitions the fleet's aggregator waits for in every window.
	Partitions(ctx context.Context) ([]pipeline.Partition, error)
}

var (
	_ Source = (*kafka.Source)(nil)
	_ Source = (*kinesis.Source)(nil)
)

// newSource builds the configured source. With source.kind demo it first starts the embedded
// broker and the traffic generator, and the Kafka source reads from them.
//
// Offline (Check) the Kinesis source is built as at the start (it talks to AWS only when it
// runs); the Kafka source is only checked, because franz-go's client starts connecting and
// joining the group as soon as it exists, and the demo starts nothing: nil is returned.
func (a *Assembly) newSource(ctx context.Context, awsCfg aws.Config, pm *pipeline.Metrics) (Source, error) {
	cfg := a.cfg.Source
	if cfg.Kind == "kinesis" {
		eps := a.cfg.AWS.Endpoints
		k, err := kinesis.New(ctx, cfg.Kinesis, awsCfg, a.budget, a.reg, pm, a.log, kinesis.WithEndpoints(eps.Kinesis, eps.DynamoDB))
		if err != nil {
			return nil, fmt.Errorf("source: %w", err)
		}
		return k, nil
	}
	if a.offline {
		if cfg.Kind == "kafka" {
			return nil, prefix("source.", cfg.Kafka.Check(ctx))
		}
		return nil, nil
	}
	kcfg := cfg.Kafka
	if cfg.Kind == "demo" {
		var err error
		if a.broker, err = demo.StartBroker(cfg.Demo); err != nil {
			return nil, err
		}
		kcfg.Brokers, kcfg.Topics, kcfg.Group = a.broker.Addrs(), []string{cfg.Demo.Topic}, "weir-demo"
		if a.gen, err = demo.NewGenerator(cfg.Demo, a.broker.Addrs(), a.reg, a.log); err != nil {
			return nil, err
		}
		a.log.Info("embedded demo broker started", "addrs", a.broker.Addrs(), "topic", cfg.Demo.Topic,
			"rate", cfg.Demo.Rate)
	}
	k, err := kafka.New(ctx, kcfg, a.budget, a.reg, pm, a.log)
	if err != nil {
		return nil, prefix("source.", err)
	}
	return k, nil
}

// behind renders the source's own view of how far behind it is, for the live summary: Kafka
// the records the last fetches left unread, Kinesis the time behind the stream's tip. A
// Kinesis shard not read yet makes its lag unknown: "≥d" when other shards have a reading
// (at least that far behind), "?" when none has, never the 0 of a caught-up worker.
func behind(src Source) string {
	switch s := src.(type) {
	case interface{ Lag() int64 }:
		return strconv.FormatInt(s.Lag(), 10)
	case interface{ Lag() (time.Duration, bool) }:
		d, known := s.Lag()
		switch {
		case known:
			return d.String()
		case d > 0:
			return "≥" + d.String()
		}
	}
	return "?"
}
