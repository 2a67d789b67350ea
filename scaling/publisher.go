package scaling

import (
	"context"
	"fmt"
	"time"

	"github.com/weirstream/weir/pipeline"
)

// Publisher evaluates the policy every Config.Period and publishes the Signal everywhere it is
// read: Latest (GET /v1/scaling), Metrics (Prometheus) and Emit (CloudWatch). It publishes on
// every tick, idle or not, so the policy's metrics never go missing.
type Publisher struct {
	Config Config
	// TaskID adds the per-task dimension set when non-empty (see ecs.TaskMetadata.TaskID).
	TaskID string
	// Fleet is the dimension set shared by all tasks of the service, e.g. ServiceName.
	Fleet []pipeline.Dimension
	// Measure returns the current inputs. Called from Run's goroutine only, once per tick;
	// it must not block for long (it should read already-computed lag and rate state).
	Measure func(now time.Time) Inputs
	// Emit hands the points to the metric sink. Called from Run's goroutine only; it may block
	// (a slow sink delays the next tick rather than queueing ticks up). nil skips CloudWatch.
	Emit func(ctx context.Context, points []pipeline.Point) error
	// Health, when set, returns points to publish with every signal: the fleet's health
	// counters (dead letters, sink errors, stalled partitions), which must not depend on windows
	// closing and so ride this timer. They come without time or dimensions; the publisher
	// stamps them with the signal's time and Fleet. Called from Run's goroutine only, once per
	// tick; it must not block.
	Health func(now time.Time) []pipeline.Point
	// Latest and Metrics are optional.
	Latest  *Latest
	Metrics *Metrics
}

// Tick performs one evaluation at now. The point timestamps are now truncated to the period so
// that every task's datapoint for the same minute lands in the same CloudWatch period.
func (p *Publisher) Tick(ctx context.Context, now time.Time) (Signal, error) {
	s := Evaluate(now.Truncate(p.Config.Period), p.TaskID, p.Measure(now), p.Config)
	if p.Latest != nil {
		p.Latest.Set(s)
	}
	if p.Metrics != nil {
		p.Metrics.Observe(s)
	}
	if p.Emit == nil {
		return s, nil
	}
	points := Points(s, p.Fleet)
	if p.Health != nil {
		for _, pt := range p.Health(now) {
			pt.Time, pt.Dimensions = s.Time, p.Fleet
			points = append(points, pt)
		}
	}
	if err := p.Emit(ctx, points); err != nil {
		if p.Metrics != nil {
			p.Metrics.publishErrors.Inc()
		}
		return s, fmt.Errorf("scaling: publish signal: %w", err)
	}
	return s, nil
}

// Run ticks until ctx is done. A failed publication is counted (weir_scaling_publish_errors_total)
// and reported through onError when non-nil; the next tick publishes again, which is the retry.
// Run returns ctx.Err().
func (p *Publisher) Run(ctx context.Context, onError func(error)) error {
	if err := p.Config.Validate(); err != nil {
		return err
	}
	if p.Measure == nil {
		return fmt.Errorf("scaling: Publisher.Measure is nil")
	}
	t := time.NewTicker(p.Config.Period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case now := <-t.C:
			if _, err := p.Tick(ctx, now); err != nil && onError != nil {
				onError(err)
			}
		}
	}
}
