package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// The parts of a worker, in the order Run starts them; the shutdown stops them in the reverse
// order, each only once the one before it has finished. Hooks.Stopped receives these names.
const (
	// PartBroker is the embedded demo broker (source.kind demo): it goes last, after the
	// source has committed to it.
	PartBroker = "demo broker"
	// PartHTTP serves /metrics, /healthz, /readyz and /v1/scaling to the end of the drain
	// (/readyz answers 503 from its start).
	PartHTTP = "http"
	// PartHealth times stalls for /healthz (see health): a second-by-second look at the
	// runtime's progress.
	PartHealth = "health"
	// PartProtection holds ECS task scale-in protection while the task drains a backlog (see
	// ecs.ProtectionConfig). Protection held at the shutdown is released after the commit:
	// until everything is durable and committed the task holds work a stop would make someone
	// redo.
	PartProtection = "ecs protection"
	// PartSummary prints the live summary line.
	PartSummary = "summary"
	// PartCommit is the source's final commit and the release of its partitions (Kafka:
	// leave the group; Kinesis: release the leases), after every window is durable. It has
	// Config.ShutdownReserve to itself, at least.
	PartCommit = "source commit"
	// PartAggregator is the fleet's aggregator: it serves while this worker holds the
	// aggregator's seat, merging every partition's partials into the reports and the metrics
	// published once. It stops after the pipeline, so the partials the drain made durable are
	// there to merge while it runs; it settles by ShutdownReserve before the deadline.
	PartAggregator = "aggregator"
	// PartPipeline is the runtime: at shutdown every partition stops, the partials of the
	// windows it closed are made durable, and its open windows are left to be read again by
	// its next owner (a partial is keyed by window and partition only); all by
	// ShutdownReserve before the deadline.
	PartPipeline = "pipeline"
	// PartLag keeps the lag tracker current and publishes this worker's lag points.
	PartLag = "lag"
	// PartScaling writes this worker's load reports and publishes its health counts (the
	// fleet's scaling signal itself is the aggregator's duty).
	PartScaling = "scaling"
	// PartSource is the source's fetching: it stops before the pipeline flushes, so nothing
	// is flushed that the source could still add to.
	PartSource = "source"
	// PartGenerator is the demo traffic: it stops first.
	PartGenerator = "demo traffic"
)

// parts lists the worker's parts in start order (see the Part… names). This list is the
// shutdown order, read backwards:
//
//  1. the demo generator stops (no new traffic);
//  2. the source stops fetching, then the scaling publisher and the lag poller stop;
//  3. the runtime closes: every partition stops, the partials of the windows it closed are made
//     durable, its open windows are left for its next owner; then the aggregator merges what
//     is complete and stops; all by the shutdown deadline minus the reserve;
//  4. the source commits what is now durable and releases its partitions (and the aggregator's
//     seat), in what is left (the reserve at least); the report and metric sinks close;
//  5. the summary stops, and task scale-in protection (if enabled) is released;
//  6. the HTTP server and the embedded broker stop.
//
// Each step starts only when the previous one finished, so nothing is committed that a sink has
// not made durable, and nothing is flushed that the source could still add to.
func (a *Assembly) parts() *group {
	g := newGroup(a.log)
	if a.broker != nil {
		g.add(part{name: PartBroker, stop: func(context.Context) error { a.broker.Close(); return nil }})
	}
	if a.srv != nil {
		g.add(part{name: PartHTTP, run: a.srv.run(a.log), stop: a.srv.shutdown})
		g.add(part{name: PartHealth, run: a.health.run})
	}
	if a.protect != nil {
		g.add(part{name: PartProtection, run: func(ctx context.Context) error {
			return a.protect.Run(ctx, func(err error) { a.log.Warn("task scale-in protection", "err", err) })
		}})
	}
	g.add(part{name: PartSummary, run: func(ctx context.Context) error { a.summarize(ctx); return nil }})
	g.add(part{name: PartCommit, stop: func(ctx context.Context) error { return errors.Join(a.src.Close(ctx), a.closeSinks(ctx)) }})
	g.add(part{name: PartAggregator, run: a.agg.Run, settle: func(ctx context.Context) {
		ctx, cancel := reserve(ctx, a.cfg.shutdownReserve())
		defer cancel()
		a.agg.Settle(ctx)
	}})
	g.add(part{name: PartPipeline, start: a.rt.Start, stop: func(ctx context.Context) error {
		ctx, cancel := reserve(ctx, a.cfg.shutdownReserve())
		defer cancel()
		return a.rt.Close(ctx)
	}})
	g.add(part{name: PartLag, run: func(ctx context.Context) error {
		var wg sync.WaitGroup
		wg.Go(func() { a.lagPts.run(ctx) })
		a.src.TrackLag(ctx, a.tracker)
		wg.Wait()
		return nil
	}})
	g.add(part{name: PartScaling, run: a.runScaling})
	g.add(part{name: PartSource, ends: true, run: func(ctx context.Context) error { return a.src.Run(ctx, a.rt) }})
	if a.gen != nil {
		g.add(part{name: PartGenerator, run: a.gen.Run})
	}
	return g
}

// reserve returns ctx with its deadline moved d earlier: what the parts after this one keep.
func reserve(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if deadline, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, deadline.Add(-d))
	}
	return context.WithCancel(ctx)
}

// Run starts every part and blocks until ctx ends (a signal) or the source fails; then it
// shuts the parts down in order (see parts), all within Config.ShutdownTimeout, and returns the
// source's error and those of the drain, joined. Run is called once.
func (a *Assembly) Run(ctx context.Context) error {
	g := a.parts()
	g.start()
	a.health.started.Store(true)
	if a.srv != nil {
		a.log.Info("serving /metrics, /healthz, /readyz", "addr", a.srv.addr())
	}
	select {
	case <-ctx.Done():
	case <-g.ended:
	}
	start := time.Now()
	a.log.Info("shutting down: stop fetching, flush windows, drain sinks, commit, release", "deadline", a.cfg.ShutdownTimeout,
		"reserved_for_commit_and_release", a.cfg.shutdownReserve())
	deadline, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	a.health.draining.Store(true)
	if a.protect != nil {
		a.protect.Drain() // protection held stays until after the commit (PartProtection)
	}
	err := g.stop(deadline, a.hooks.Stopped)
	st := a.rt.Stats()
	a.log.Info("stopped", "took", time.Since(start).Round(time.Millisecond), "records", st.Records,
		"partials", st.Partials, "err", err)
	return err
}

// closeSinks closes the report and metric sinks once nothing writes to them any more.
func (a *Assembly) closeSinks(ctx context.Context) error {
	var errs []error
	sinks := a.reports
	if a.metrics != nil {
		sinks = append(sinks[:len(sinks):len(sinks)], a.metrics)
	}
	for _, s := range sinks {
		if err := s.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("closing sink %s: %w", s.Name(), err))
		}
	}
	return errors.Join(errs...)
}
