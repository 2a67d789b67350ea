package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/weirstream/weir/lag"
	"github.com/weirstream/weir/pipeline"
)

// lagPublisher publishes this worker's lag points (its owned partitions' offset and time lag,
// the fleet-wide aggregates it sees) on a timer of its own, every window period: lag must be
// timely, and a window's metrics now come from the fleet's aggregator, which knows nothing of
// any worker's lag.
type lagPublisher struct {
	analyzer *lag.Analyzer
	every    time.Duration
	sink     pipeline.Sink // nil: CloudWatch is off; the Prometheus gauges still move
	log      *slog.Logger
}

func (p *lagPublisher) run(ctx context.Context) {
	if p.sink == nil {
		return
	}
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			out := &pipeline.Output{Points: p.analyzer.Points(p.analyzer.Tracker.Snapshot(now), now.Truncate(time.Second), nil)}
			if err := p.sink.Write(ctx, out); err != nil && ctx.Err() == nil {
				p.log.Warn("publishing the lag points failed; the next period publishes again", "err", err)
			}
		}
	}
}
