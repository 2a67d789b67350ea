// Package aggregator is the fleet's aggregator: one per fleet, elected from what the source
// already distributes, it merges every partition's partial of a window into the global result,
// writes the global reports under deterministic keys, publishes the window's metrics once, runs
// the analyzers (anomaly) on the global series as their only writer, and keeps its progress in
// a state object another aggregator resumes from (ARCHITECTURE.md §1, §5; issue 18).
//
// Per window W, in window order:
//
//  1. List the partials from W on. A partition has passed W if it delivered W, or any later
//     window (contiguity: it writes every window from its start point), or it ended before W.
//     W is complete when every partition of the set has passed it; otherwise wait, and merge
//     without the partitions that hold it back once they have delivered nothing new for
//     aggregator.grace (naming them in the fleet summary: "missing").
//  2. Read and merge the partials (State.Merge per operator, in partition order; an operator
//     whose states fail to decode or merge is left out and named, never half-merged), emit the
//     global Output (no Owner), run the analyzers on it.
//  3. Write the reports; claim the window's publication (a marker created with If-None-Match:
//     *) and publish its points only if the claim is this aggregator's; save the state.
//
// A window merged with missing partitions stays watched: a partial arriving later makes its
// reports be merged and written again (metrics are not republished, the analyzers do not
// learn the window again). A crash between the claim and the publish loses that window's
// metrics: CloudWatch adds duplicates, so the guard is at-most-once, and a lost point shows
// as a gap.
package aggregator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/pipeline"
)

// Options are an Aggregator's parts.
type Options struct {
	// Config must have had ApplyDefaults and Validate with Window.
	Config Config
	// Window is the pipeline's window configuration: the aggregator steps by its period.
	Window pipeline.WindowConfig
	// Store holds the partials, the publish markers and the state object.
	Store Store
	// Partitions is the partition set a window needs to be complete.
	Partitions PartitionSource
	// Leadership says when this process is the aggregator.
	Leadership Leadership
	// Operators are the pipeline's operators, built as the workers build them: their names
	// and fingerprints must match the partials' for states to be merged.
	Operators []pipeline.Operator
	// NewAnalyzers builds the analyzers for one term (nil: none). They restore from store
	// what the previous term saved and register their metrics with reg, which forgets them
	// when the term ends. Analyzers run only on a window's first merge.
	NewAnalyzers func(store SnapshotStore, reg prometheus.Registerer) ([]pipeline.Analyzer, error)
	// Reports receive each window's reports; a report is durable once every one returned nil.
	Reports []ReportSink
	// Metrics publishes each window's points once across the fleet (nil: not published).
	Metrics MetricSink
	// Duties run alongside each term's merging, each on a goroutine of its own, from the
	// term's start until its end: work that the fleet wants done by one process, the one that
	// aggregates (the fleet's scaling signal: scaling.FleetPublisher.Run). A duty must return
	// promptly once its context ends; the term is not over until every duty has returned, so
	// two terms' duties never overlap in one process.
	Duties []func(ctx context.Context)
	// Registerer registers the aggregator's metrics; Logger may be nil.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// Now is the clock (default time.Now); tests set it.
	Now func() time.Time
}

// Aggregator merges the fleet's partials while this process holds the leadership.
type Aggregator struct {
	cfg      Config
	period   time.Duration
	store    Store
	parts    PartitionSource
	lead     Leadership
	ops      []pipeline.Operator
	opIndex  map[string]int
	opConfig []string
	// free holds merged-in operator states for the next partials to be decoded into.
	free *freeStates
	// bufs holds the readers' buffers for a partial's bytes and its decoding.
	bufs    readBuffers
	analyze func(SnapshotStore, prometheus.Registerer) ([]pipeline.Analyzer, error)
	reports []ReportSink
	publish MetricSink
	duties  []func(context.Context)
	reg     prometheus.Registerer
	log     *slog.Logger
	now     func() time.Time
	m       *metrics
	notify  chan struct{}
	settle  chan chan struct{}
	serving atomic.Bool
	// sinkErrors counts failed report writes and metric publishes (SinkErrors).
	sinkErrors atomic.Int64
}

// SinkErrors returns how many report writes and metric publishes have failed (each is retried
// at the next poll): the worker adds them to its SinkWriteErrors point, which the fleet's sink
// alarm reads.
func (a *Aggregator) SinkErrors() int64 { return a.sinkErrors.Load() }

// New checks opts and returns an Aggregator; Run starts it.
func New(opts Options) (*Aggregator, error) {
	if err := opts.Config.Validate(opts.Window); err != nil {
		return nil, err
	}
	switch {
	case opts.Store == nil:
		return nil, errors.New("aggregator: no store")
	case opts.Partitions == nil:
		return nil, errors.New("aggregator: no partition source")
	case opts.Leadership == nil:
		return nil, errors.New("aggregator: no leadership")
	case len(opts.Reports) == 0:
		return nil, errors.New("aggregator: no report sink")
	case opts.Registerer == nil:
		return nil, errors.New("aggregator: no Prometheus registerer")
	case opts.Window.Period < time.Second:
		return nil, fmt.Errorf("aggregator: window period %v", opts.Window.Period)
	}
	a := &Aggregator{
		cfg: opts.Config, period: opts.Window.Period, store: opts.Store, parts: opts.Partitions,
		lead: opts.Leadership, ops: opts.Operators, opIndex: make(map[string]int),
		analyze: opts.NewAnalyzers, reports: opts.Reports, publish: opts.Metrics, duties: opts.Duties, reg: opts.Registerer,
		log: opts.Logger, now: opts.Now, notify: make(chan struct{}, 1), settle: make(chan chan struct{}),
	}
	for i, op := range a.ops {
		if _, dup := a.opIndex[op.Name()]; dup {
			return nil, fmt.Errorf("aggregator: two operators named %q", op.Name())
		}
		a.opIndex[op.Name()] = i
		a.opConfig = append(a.opConfig, pipeline.Fingerprint(op))
	}
	a.free = newFreeStates(len(a.ops), a.cfg.ReadConcurrency)
	a.bufs = newReadBuffers(a.cfg.ReadConcurrency)
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	var err error
	if a.m, err = newMetrics(a.reg); err != nil {
		return nil, fmt.Errorf("aggregator: metrics: %w", err)
	}
	return a, nil
}

// Notify wakes the aggregator to look for partials now instead of at its next poll: the
// partial writer of a fleet of one calls it after each write. It never blocks.
func (a *Aggregator) Notify() {
	select {
	case a.notify <- struct{}{}:
	default:
	}
}

// Settle asks the term being served, if any, to merge every window it can merge now (complete,
// or past its grace) before it goes on, and returns once it has, or when ctx ends. A worker
// shutting down calls it after its own partials are durable, so a fleet of one reports its
// last closed windows before it stops instead of at its next start.
func (a *Aggregator) Settle(ctx context.Context) {
	if !a.serving.Load() {
		return
	}
	done := make(chan struct{})
	select {
	case a.settle <- done:
	case <-ctx.Done():
		return
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// Run serves terms as they are acquired until ctx ends, and returns nil then. A term ends
// when its context does, or when a newer aggregator's token is found in the state.
func (a *Aggregator) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case term := <-a.lead.Acquired():
			a.serve(ctx, term)
		}
	}
}

// serve runs one term to its end.
func (a *Aggregator) serve(ctx context.Context, term Term) {
	tctx, cancel := context.WithCancel(term.Ctx)
	stop := context.AfterFunc(ctx, cancel)
	defer func() {
		stop()
		cancel()
		if term.Done != nil {
			close(term.Done)
		}
	}()
	a.m.terms.Inc()
	a.m.leader.Set(1)
	a.serving.Store(true)
	defer func() {
		a.serving.Store(false)
		a.m.leader.Set(0)
	}()
	log := a.log.With("token", term.Token)
	log.Info("aggregator: term begins")
	t, err := a.begin(tctx, term.Token, log)
	if err == nil {
		defer t.end()
		var duties sync.WaitGroup
		for _, duty := range a.duties {
			duties.Go(func() { duty(tctx) })
		}
		err = t.run(tctx)
		cancel()
		duties.Wait()
	}
	if errors.Is(err, errFenced) {
		a.m.fenced.Inc()
		log.Warn("aggregator: term ends: the state holds a newer aggregator's token (if the fleet's tokens "+
			"started again, e.g. a Kafka group was deleted, delete the state object)", "err", err)
		return
	}
	log.Info("aggregator: term ends", "err", err)
}
