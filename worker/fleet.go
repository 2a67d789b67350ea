package worker

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/aggregator"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/anomaly"
)

// buildAggregator builds the fleet's aggregator of this worker: it serves while the source says
// this worker holds the aggregator's seat (Kafka: the member owning the first topic's partition
// 0; Kinesis: the holder of the lease table's aggregator row), merging every partition's
// partials from store into the reports (a.reports) and the metrics published once (a.metrics),
// with the anomaly detector on the global series. A single worker is a fleet of one: it holds
// the seat, and its own partial writes wake the aggregator (notifying).
func (a *Assembly) buildAggregator(ops []pipeline.Operator, store partialStore) error {
	cfg := a.cfg
	lead := newLeadership(aggregatorStopWait)
	a.src.WatchLeadership(lead.changed)
	opts := aggregator.Options{
		Config: cfg.Aggregator, Window: cfg.Window, Store: store, Partitions: a.src, Leadership: lead,
		Operators: ops, Registerer: a.reg, Logger: a.log,
		// The fleet's scaling signal is the aggregator's to publish, for as long as it serves.
		Duties: []func(context.Context){func(ctx context.Context) {
			if err := a.scale.fleet.Run(ctx); err != nil {
				a.log.Warn("the fleet's scaling signal stopped", "err", err)
			}
		}},
	}
	for _, r := range a.reports {
		opts.Reports = append(opts.Reports, r)
	}
	if a.metrics != nil {
		opts.Metrics = a.metrics
	}
	if cfg.Anomaly.Enabled {
		ac := cfg.Anomaly.Config
		opts.NewAnalyzers = func(store aggregator.SnapshotStore, reg prometheus.Registerer) ([]pipeline.Analyzer, error) {
			an, err := anomaly.NewAnalyzer(ac, store, reg, a.log)
			if err != nil {
				return nil, fmt.Errorf("anomaly: %w", err)
			}
			return []pipeline.Analyzer{an}, nil
		}
	}
	agg, err := aggregator.New(opts)
	if err != nil {
		return err
	}
	a.agg = agg
	return nil
}

// aggregatorStopWait bounds how long a source's callback waits for the aggregator to stop when
// this worker gives the seat up: the wait runs inside the revoke (Kafka) or a renewal round
// (Kinesis), and an aggregator still finishing a write is fenced by its token and the store's
// compare-and-swap anyway.
const aggregatorStopWait = 5 * time.Second

// notifying wakes the aggregator after every partial written, so that a fleet of one reports a
// window within moments of its close instead of at the next poll. Another worker's
// aggregator polls.
type notifying struct {
	pipeline.PartialWriter
	agg *aggregator.Aggregator
}

func (n notifying) WritePartial(ctx context.Context, start time.Time, p pipeline.Partition, body []byte) error {
	if err := n.PartialWriter.WritePartial(ctx, start, p, body); err != nil {
		return err
	}
	n.agg.Notify()
	return nil
}
