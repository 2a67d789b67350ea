package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/pipeline/decode"
)

// Options wires a Runtime. Plan, Operators, DeadLetters, Committer, Budget, Metrics and Logger
// are required.
type Options struct {
	Window WindowConfig
	// Plan holds the payload fields the operators registered while they were built; the runtime
	// adds the event-time field. An empty plan means records are never decoded.
	Plan      *decode.Plan
	Operators []Operator
	Analyzers []Analyzer
	Sinks     []Sink
	// DeadLetters receives undecodable, late and otherwise unusable records.
	DeadLetters DeadLetterSink
	Committer   Committer
	Budget      *Budget
	Metrics     *Metrics
	Logger      *slog.Logger
	// QueueLen is each partition's queue of fetched batches. Default 4: enough to keep a runner
	// busy across a fetch round trip; the global Budget, not this, bounds memory.
	QueueLen int
	// OnDurable, if set, is called after each window output became durable in every sink, from
	// a sink goroutine. It must not block.
	OnDurable func(*Output)
	// Clock is the wall clock (default time.Now): what idleness, the wall-clock rule of event
	// time and processing-time windows read. Tests set it to run long quiet spells at once.
	Clock Clock
}

// Runtime runs the pipeline of one worker: a runner per assigned partition, the merger, the
// sink writers and the dead-letter writer. Sources drive it with Assign, Feed.Send, Revoke and
// Close.
type Runtime struct {
	cfg       WindowConfig
	plan      *decode.Plan
	timeIdx   int
	ops       []Operator
	analyzers []Analyzer
	sinks     []Sink
	committer Committer
	budget    *Budget
	metrics   *Metrics
	log       *slog.Logger
	queueLen  int
	onDurable func(*Output)
	now       Clock
	tickEvery time.Duration
	alarm     *dropAlarm
	// deadCounters are weir_dead_letters_total by reason, looked up once.
	deadCounters [numDropReasons]prometheus.Counter

	merge       chan mergeMsg
	emit        chan *emission
	deadLetters *deadLetterQueue

	controlMu      sync.Mutex
	joins, leaves  []Partition
	controlPending atomic.Bool
	controlNotify  chan struct{}

	stats statCounters
	// sinkHealth follows each window sink's failed writes, then the dead-letter writer's
	// (FailingSinks).
	sinkHealth []*sinkHealth

	mu       sync.Mutex
	runners  map[Partition]*runner
	closed   bool
	draining atomic.Bool // Close has begun: stopping runners process what is queued

	runnersDone chan struct{}
	mergerDone  chan struct{}
	emitterDone chan struct{}
	stopTicker  chan struct{}
	sinkCtx     context.Context
	cancelSinks context.CancelFunc
}

// New checks the options and builds a Runtime; Start runs it.
func New(o Options) (*Runtime, error) {
	if err := o.Window.Validate(); err != nil {
		return nil, err
	}
	switch {
	case o.Plan == nil:
		return nil, errors.New("pipeline: Options.Plan is nil")
	case o.DeadLetters == nil:
		return nil, errors.New("pipeline: Options.DeadLetters is nil: bad records need somewhere to go")
	case o.Committer == nil || o.Budget == nil || o.Metrics == nil || o.Logger == nil:
		return nil, errors.New("pipeline: Options.Committer, Budget, Metrics and Logger are required")
	}
	names := make(map[string]bool)
	for _, op := range o.Operators {
		if names[op.Name()] {
			return nil, fmt.Errorf("pipeline: two operators are named %q", op.Name())
		}
		names[op.Name()] = true
	}
	rt := &Runtime{
		cfg:           o.Window,
		plan:          o.Plan,
		timeIdx:       -1,
		ops:           o.Operators,
		analyzers:     o.Analyzers,
		sinks:         o.Sinks,
		committer:     o.Committer,
		budget:        o.Budget,
		metrics:       o.Metrics,
		log:           o.Logger,
		queueLen:      o.QueueLen,
		onDurable:     o.OnDurable,
		now:           o.Clock,
		tickEvery:     min(time.Second, o.Window.Period/4),
		merge:         make(chan mergeMsg, 256),
		emit:          make(chan *emission, 1),
		controlNotify: make(chan struct{}, 1),
		runners:       make(map[Partition]*runner),
		runnersDone:   make(chan struct{}),
		mergerDone:    make(chan struct{}),
		emitterDone:   make(chan struct{}),
		stopTicker:    make(chan struct{}),
	}
	if rt.queueLen <= 0 {
		rt.queueLen = 4
	}
	if o.Window.Time == EventTime && o.Window.TimeField != "" {
		idx, err := o.Plan.Add(o.Window.TimeField)
		if err != nil {
			return nil, fmt.Errorf("window.time_field: %w", err)
		}
		rt.timeIdx = idx
	}
	if rt.now == nil {
		rt.now = time.Now
	}
	rt.alarm = newDropAlarm(rt.log, rt.now)
	for r := range numDropReasons {
		rt.deadCounters[r] = rt.metrics.deadLetters.WithLabelValues(r.String())
	}
	rt.sinkCtx, rt.cancelSinks = context.WithCancel(context.Background())
	rt.sinkHealth = newSinkHealth(o.Sinks)
	rt.deadLetters = newDeadLetterQueue(rt, o.DeadLetters)
	return rt, nil
}

// Start launches the merger, the sink writers, the dead-letter writer and the stage metrics.
func (rt *Runtime) Start() {
	m := newMerger(rt)
	e := newEmitter(rt)
	go func() { defer close(rt.mergerDone); m.run() }()
	go func() { defer close(rt.emitterDone); e.run() }()
	go rt.deadLetters.run()
	go rt.tickStages()
}

func (rt *Runtime) tickStages() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			rt.metrics.observeStages()
		case <-rt.stopTicker:
			return
		}
	}
}

// Assign starts a runner for p and returns its Feed (the existing one if p already runs).
// A source must not send batches of p after Revoke(p) or Close has begun.
func (rt *Runtime) Assign(p Partition) (*Feed, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return nil, errors.New("pipeline: runtime is closed")
	}
	if r, ok := rt.runners[p]; ok {
		return &Feed{r}, nil
	}
	r := &runner{
		rt:          rt,
		p:           p,
		in:          make(chan Batch, rt.queueLen),
		blockedSig:  make(chan struct{}, 1),
		stop:        make(chan struct{}),
		abandon:     make(chan struct{}),
		done:        make(chan struct{}),
		holds:       newHolds(p, rt.committer, rt.metrics.lateAcks.Inc),
		credits:     make(chan struct{}, rt.cfg.MaxPendingWindows),
		clock:       rt.metrics.StageClock("runner"),
		timeIdx:     rt.timeIdx,
		et:          newEventClock(rt.cfg.AllowedLateness),
		closedAt:    minTime,
		onTimeAt:    rt.now().UnixNano(),
		behind:      true,
		lateCounter: rt.metrics.late.WithLabelValues(p.Stream, string(rt.cfg.Late)),
	}
	r.interrupt = r.stop
	for range rt.cfg.MaxPendingWindows {
		r.credits <- struct{}{}
	}
	for _, op := range rt.ops {
		if sel, ok := op.(StreamSelector); ok && !sel.Reads(p.Stream) {
			r.ops = append(r.ops, nil)
			continue
		}
		r.ops = append(r.ops, op)
	}
	if rt.plan.Len() > 0 {
		r.dec = rt.plan.NewDecoder()
		r.vals = make([]decode.Value, rt.plan.Len())
	}
	rt.runners[p] = r
	rt.metrics.partitions.Set(float64(len(rt.runners)))
	rt.control(p, true)
	go r.run()
	return &Feed{r}, nil
}

// control queues a join or leave for the merger. Joins are queued before the runner starts and
// the merger applies queued control before every message, so it always knows a partition
// before hearing from it.
func (rt *Runtime) control(p Partition, join bool) {
	rt.controlMu.Lock()
	if join {
		rt.joins = append(rt.joins, p)
	} else {
		rt.leaves = append(rt.leaves, p)
	}
	rt.controlPending.Store(true)
	rt.controlMu.Unlock()
	select {
	case rt.controlNotify <- struct{}{}:
	default:
	}
}

func (rt *Runtime) takeControl() (joins, leaves []Partition) {
	rt.controlMu.Lock()
	defer rt.controlMu.Unlock()
	joins, leaves = rt.joins, rt.leaves
	rt.joins, rt.leaves = nil, nil
	rt.controlPending.Store(false)
	return joins, leaves
}

// Revoke stops p's runner, flushes its open windows, and waits (until ctx ends) for everything
// it processed to become durable, so that the commit point it leaves behind is as far as it can
// be. When Revoke returns, no Commit for p will ever be made again: acknowledgements arriving
// later are counted in weir_late_acks_total and dropped. The source should then commit
// synchronously and forget p.
func (rt *Runtime) Revoke(ctx context.Context, p Partition) {
	rt.mu.Lock()
	r, ok := rt.runners[p]
	delete(rt.runners, p)
	rt.metrics.partitions.Set(float64(len(rt.runners)))
	rt.mu.Unlock()
	if !ok {
		return
	}
	rt.stopRunner(ctx, r)
	// The leave goes through the runner's own queue, behind its final partials, so they merge
	// with the window's other partials instead of going out alone. If the merger is too far
	// behind to take it before the deadline, the control queue still delivers it (unordered:
	// a final partial arriving after its partition left is emitted on its own).
	select {
	case rt.merge <- mergeMsg{kind: msgLeave, p: p}:
	case <-ctx.Done():
		rt.control(p, false)
	}
	select {
	case <-r.holds.drained():
	case <-ctx.Done():
		rt.log.Warn("revoke deadline passed before every window was durable; the rest will be replayed",
			"partition", p.String(), "pending", r.holds.pending())
	}
	r.holds.revoke()
}

func (rt *Runtime) stopRunner(ctx context.Context, r *runner) {
	close(r.stop)
	select {
	case <-r.done:
	case <-ctx.Done():
		close(r.abandon)
		<-r.done
	}
}

// Close shuts the runtime down within ctx: every runner stops and hands over its open windows,
// the merger flushes, the sinks drain and close. Sources stop fetching before calling Close and
// commit after it returns.
func (rt *Runtime) Close(ctx context.Context) error {
	rt.mu.Lock()
	if rt.closed {
		rt.mu.Unlock()
		return errors.New("pipeline: runtime already closed")
	}
	rt.closed = true
	rt.draining.Store(true)
	runners := make([]*runner, 0, len(rt.runners))
	for _, r := range rt.runners {
		runners = append(runners, r)
	}
	rt.runners = map[Partition]*runner{}
	rt.metrics.partitions.Set(0)
	rt.mu.Unlock()

	var wg sync.WaitGroup
	for _, r := range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rt.stopRunner(ctx, r)
		}()
	}
	wg.Wait()
	// No leaves: the merger, told every runner is done, takes what is queued and flushes
	// everything at once, so the last windows go out merged.
	close(rt.runnersDone)

	var errs []error
	select {
	case <-rt.emitterDone:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("pipeline: shutdown deadline passed with window outputs still unwritten: %w", ctx.Err()))
		rt.cancelSinks()
		<-rt.emitterDone
	}
	close(rt.deadLetters.queue)
	select {
	case <-rt.deadLetters.done:
	case <-ctx.Done():
		rt.cancelSinks()
		<-rt.deadLetters.done
	}
	for _, r := range runners {
		r.holds.revoke()
	}
	rt.cancelSinks()
	close(rt.stopTicker)
	for _, s := range rt.sinks {
		if err := s.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("closing sink %s: %w", s.Name(), err))
		}
	}
	return errors.Join(errs...)
}
