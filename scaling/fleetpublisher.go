package scaling

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/weirstream/weir/load"
	"github.com/weirstream/weir/pipeline"
)

// FleetPublisher sizes the fleet once per period and publishes the one signal the ECS scaling
// policy follows: DesiredTasks, BacklogSecondsPerTask and the figures behind them, as one
// series per service (the Fleet dimensions, no TaskId), zeros included when idle (target
// tracking never scales in on missing data). Only the fleet's aggregator runs it: Run is one
// aggregator term's duty, so there is never a per-task answer to combine.
type FleetPublisher struct {
	Config Config
	Sizer  *Sizer
	// Fleet is the dimension set of the service's series, e.g. ServiceName.
	Fleet []pipeline.Dimension
	// Emit hands the points to the metric sink. Called from Run's goroutine only; it may
	// block (a slow sink delays the next tick rather than queueing ticks). nil: not published.
	Emit func(ctx context.Context, points []pipeline.Point) error
	// Latest, Metrics and Logger are optional.
	Latest  *Latest
	Metrics *Metrics
	Logger  *slog.Logger
}

// errNoReports: a period without a single load report cannot be sized. Publishing anyway
// would read as a fleet of one with no capacity and steer the service to its minimum; nothing
// published leaves target tracking where it is, and the missing-signal alarm speaks.
var errNoReports = errors.New("no load reports for the period: nothing to size the fleet from")

// Tick sizes the fleet from the period that ended at or before now and publishes the signal,
// stamped with the end of that period.
func (p *FleetPublisher) Tick(ctx context.Context, now time.Time) (Signal, error) {
	in, det, sourceErr, err := p.Sizer.Measure(ctx, now)
	if err == nil && det.Reports == 0 {
		err = fmt.Errorf("scaling: %w (period %s, %d refused)", errNoReports, det.PeriodStart.Format(time.RFC3339), det.Invalid)
	}
	if err != nil {
		if p.Metrics != nil {
			p.Metrics.measureErrors.Inc()
		}
		return Signal{}, err
	}
	if sourceErr != nil {
		p.log().Warn("scaling: sizing without the source's view; the load reports stand in", "err", sourceErr)
	}
	s := Evaluate(now.Truncate(p.Config.Period), in, p.Config)
	s.Fleet = &det
	if p.Latest != nil {
		p.Latest.Set(s)
	}
	if p.Metrics != nil {
		p.Metrics.Observe(s)
	}
	if p.Emit == nil {
		return s, nil
	}
	if err := p.Emit(ctx, Points(s, p.Fleet)); err != nil {
		if p.Metrics != nil {
			p.Metrics.publishErrors.Inc()
		}
		return s, fmt.Errorf("scaling: publish signal: %w", err)
	}
	return s, nil
}

// Delay is how long after a period ends the fleet is sized: long enough for every worker's
// report of the period to be written (each writes it the moment the period ends).
func (p *FleetPublisher) Delay() time.Duration { return p.Config.Period / 4 }

// Run sizes and publishes Delay after every period boundary until ctx ends (the aggregator's
// term), and returns nil then. While it runs, Latest serves this process's signal; when it
// returns, Latest says this process is not the aggregator. A failed tick is counted and
// logged; the next period's tick is the retry.
func (p *FleetPublisher) Run(ctx context.Context) error {
	if err := p.Config.Validate(); err != nil {
		return err
	}
	if p.Sizer == nil {
		return errors.New("scaling: FleetPublisher.Sizer is nil")
	}
	if p.Latest != nil {
		p.Latest.SetAggregator(true)
		defer p.Latest.SetAggregator(false)
	}
	if err := p.Sizer.Prime(ctx); err != nil && ctx.Err() == nil {
		p.log().Warn("scaling: the source's view at the term's start", "err", err)
	}
	load.OnGrid(ctx, p.Config.Period, p.Delay(), func(now time.Time) {
		if _, err := p.Tick(ctx, now); err != nil && ctx.Err() == nil {
			p.log().Warn("scaling: no fleet signal this period", "err", err)
		}
	})
	return nil
}

func (p *FleetPublisher) log() *slog.Logger {
	if p.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Logger
}
