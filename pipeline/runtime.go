package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/pipeline/decode"
)

// Options wires a Runtime. Plan, Operators, Partials, DeadLetters, Committer, Budget, Metrics
// and Logger are required.
type Options struct {
	Window WindowConfig
	// Plan holds the payload fields the operators registered while they were built; the runtime
	// adds the event-time field. An empty plan means records are never decoded.
	Plan      *decode.Plan
	Operators []Operator
	// Partials receives every partition's partial of every window it closes (partials.go).
	Partials PartialWriter
	// DeadLetters receives undecodable, late and otherwise unusable records.
	DeadLetters DeadLetterSink
	Committer   Committer
	Budget      *Budget
	Metrics     *Metrics
	Logger      *slog.Logger
	// QueueLen is each partition's queue of fetched batches. Default 4: enough to keep a runner
	// busy across a fetch round trip; the global Budget, not this, bounds memory.
	QueueLen int
	// WriteConcurrency bounds the partial writes in flight at once, over every partition.
	// Default 16: a window's end closes every partition's window at about the same moment, and
	// an S3 PUT is mostly waiting (16 at ~30 ms each is ~500 partials a second).
	WriteConcurrency int
	// Clock is the wall clock (default time.Now): what idleness, the wall-clock rule of event
	// time and processing-time windows read. Tests set it to run long quiet spells at once.
	Clock Clock
}

// Runtime runs the pipeline of one worker: a runner and a partial writer per assigned
// partition, and the dead-letter writer. Sources drive it with Assign, Feed.Send, Revoke and
// Close.
type Runtime struct {
	cfg       WindowConfig
	plan      *decode.Plan
	timeIdx   int
	ops       []Operator
	partials  PartialWriter
	committer Committer
	budget    *Budget
	metrics   *Metrics
	log       *slog.Logger
	queueLen  int
	now       Clock
	tickEvery time.Duration
	alarm     *dropAlarm
	// deadCounters are weir_dead_letters_total by reason, looked up once.
	deadCounters [numDropReasons]prometheus.Counter
	// writeSlots bounds the partial writes in flight (WriteConcurrency).
	writeSlots  chan struct{}
	deadLetters *deadLetterQueue

	stats statCounters
	// sinkHealth follows the partial writes' failures, then the dead-letter writer's
	// (FailingSinks).
	sinkHealth []*sinkHealth

	mu      sync.Mutex
	runners map[Partition]*runner
	// live are the runners not yet exited, revoked ones included: Close waits for them (with
	// their writers) before it closes the dead-letter queue they may still queue letters on.
	live   map[*runner]struct{}
	exited sync.WaitGroup
	closed bool

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
	case o.Partials == nil:
		return nil, errors.New("pipeline: Options.Partials is nil: closed windows need somewhere to go")
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
	if o.WriteConcurrency <= 0 {
		o.WriteConcurrency = 16
	}
	rt := &Runtime{
		cfg:        o.Window,
		plan:       o.Plan,
		timeIdx:    -1,
		ops:        o.Operators,
		partials:   o.Partials,
		committer:  o.Committer,
		budget:     o.Budget,
		metrics:    o.Metrics,
		log:        o.Logger,
		queueLen:   o.QueueLen,
		now:        o.Clock,
		tickEvery:  min(time.Second, o.Window.Period/4),
		writeSlots: make(chan struct{}, o.WriteConcurrency),
		runners:    make(map[Partition]*runner),
		live:       make(map[*runner]struct{}),
		stopTicker: make(chan struct{}),
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
	rt.sinkHealth = newSinkHealth()
	rt.deadLetters = newDeadLetterQueue(rt, o.DeadLetters)
	return rt, nil
}

// Start launches the dead-letter writer and the stage metrics.
func (rt *Runtime) Start() {
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

// Assign starts a runner for p and returns its Feed (the existing one if p already runs). from
// is the checkpoint the source resumes p at, with the state its commit stored (nil: none, or
// none weir can use): the runner makes the decisions the first run made (replay.go). A source
// must not send batches of p after Revoke(p) or Close has begun.
func (rt *Runtime) Assign(p Partition, from *Checkpoint) (*Feed, error) {
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
		holds:       newHolds(p, int64(rt.cfg.Period), rt.committer, rt.metrics),
		credits:     make(chan struct{}, rt.cfg.MaxPendingWindows),
		clock:       rt.metrics.StageClock("runner"),
		timeIdx:     rt.timeIdx,
		et:          newEventClock(rt.cfg.AllowedLateness),
		idleSince:   rt.now().UnixNano(),
		assigned:    rt.now(),
		behind:      true,
		lateCounter: rt.metrics.late.WithLabelValues(p.Stream, string(rt.cfg.Late)),
		ahead: aheadLog{broker: rt.metrics.ahead.WithLabelValues(p.Stream, aheadOfBroker),
			clock: rt.metrics.ahead.WithLabelValues(p.Stream, aheadOfClock)},
	}
	r.interrupt = r.stop
	r.looked.Store(r.idleSince)
	for range rt.cfg.MaxPendingWindows {
		r.credits <- struct{}{}
	}
	r.writer = newPartialWriter(rt, p, rt.ops, r.credits)
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
	if from != nil {
		if from.State.Period != 0 && from.State.Period != rt.cfg.Period {
			rt.log.Warn("the partition's checkpoint was made with another window period; its event-time state is not used",
				"partition", p.String(), "checkpoint_period", from.State.Period, "period", rt.cfg.Period)
			from = &Checkpoint{Position: from.Position}
		}
		r.restore(*from)
	}
	rt.runners[p] = r
	rt.live[r] = struct{}{}
	rt.metrics.partitions.Set(float64(len(rt.runners)))
	rt.exited.Add(2)
	go func() {
		defer rt.exited.Done()
		r.run()
	}()
	go func() {
		defer rt.exited.Done()
		r.writer.run()
		rt.mu.Lock()
		delete(rt.live, r)
		rt.mu.Unlock()
	}()
	return &Feed{r}, nil
}

// Close shuts the runtime down within ctx: every runner stops, its partials already closed are
// written (until ctx ends) and its open windows abandoned for the next owner to read again
// (commit.go, step 5); the dead letters queued are written. Sources stop fetching before
// calling Close and commit after it returns.
func (rt *Runtime) Close(ctx context.Context) error {
	rt.mu.Lock()
	if rt.closed {
		rt.mu.Unlock()
		return errors.New("pipeline: runtime already closed")
	}
	rt.closed = true
	runners := make([]*runner, 0, len(rt.runners))
	for _, r := range rt.runners {
		runners = append(runners, r)
	}
	rt.runners = map[Partition]*runner{}
	rt.metrics.partitions.Set(0)
	rt.mu.Unlock()

	var wg sync.WaitGroup
	for _, r := range runners {
		wg.Go(func() { rt.stop(ctx, r) })
	}
	wg.Wait()
	// Runners an in-flight Revoke is stopping may still queue dead letters: wait for them too,
	// giving up on their writes at the deadline, before the queue closes.
	exited := make(chan struct{})
	go func() { rt.exited.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-ctx.Done():
		rt.mu.Lock()
		for r := range rt.live {
			r.abandonNow()
		}
		rt.mu.Unlock()
		<-exited
	}

	var errs []error
	close(rt.deadLetters.queue)
	select {
	case <-rt.deadLetters.done:
	case <-ctx.Done():
		rt.cancelSinks()
		<-rt.deadLetters.done
	}
	if ctx.Err() != nil {
		errs = append(errs, fmt.Errorf("pipeline: shutdown deadline passed with partials or dead letters unwritten: %w", ctx.Err()))
	}
	for _, r := range runners {
		r.holds.revoke()
	}
	rt.cancelSinks()
	close(rt.stopTicker)
	return errors.Join(errs...)
}
