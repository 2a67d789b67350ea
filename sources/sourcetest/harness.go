package sourcetest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/pipeline/pipelinetest"
)

// Source is what the suite drives of a source; *kafka.Source and *kinesis.Source implement it.
type Source interface {
	pipeline.Committer
	Run(ctx context.Context, rt pipeline.Assigner) error
	Close(ctx context.Context) error
}

// Deps are what a source is built from: the worker's budget, metrics and log.
type Deps struct {
	Budget   *pipeline.Budget
	Registry *prometheus.Registry
	Metrics  *pipeline.Metrics
	Logger   *slog.Logger
}

// Store is the durable output of every worker of a test, as a bucket of partials keeps it:
// the latest partial of every (window, partition), so a replay that writes a partial again
// replaces it. Every record (by its ID) is counted in the partials that hold it now: exactly
// once, when the sources and the runtime keep their contracts.
type Store struct {
	id func(*pipeline.Record) string

	// stalled makes every write wait while it is set: a stalled store (see Stall).
	stalled atomic.Bool
	// waiting counts the partial writes waiting on the stall now.
	waiting atomic.Int64
	// OnEnded, if set, is called with a partition's partial marked Ended before the write
	// returns: what else is true at the moment the fleet's aggregator can first see the end.
	OnEnded func(pipeline.Partition)

	mu          sync.Mutex
	parts       map[pipelinetest.Key]partial
	deadLetters int
	// conflicts counts partials written again with other bytes than they had: a replay that
	// did not reproduce what the first run wrote; conflictLog says how they differed.
	conflicts   int
	conflictLog []string
}

type partial struct {
	body []byte
	seen map[string]int // record ID → times counted
}

// Stall makes the workers' stores block every write (until the write's context ends) while on
// is true, and lets them go on when it is false.
func (st *Store) Stall(on bool) { st.stalled.Store(on) }

// Waiting returns how many partial writes wait on the stall now (at most one per partition a
// worker runs): a test that needs windows closed and not yet durable waits for it.
func (st *Store) Waiting() int { return int(st.waiting.Load()) }

// NewStore returns an empty store naming records by id (a record's ID must be unique in the
// stream and the same however often the record is read).
func NewStore(id func(*pipeline.Record) string) *Store {
	return &Store{id: id, parts: map[pipelinetest.Key]partial{}}
}

// Counts returns how many times each record is counted in the partials.
func (st *Store) Counts() map[string]int {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := map[string]int{}
	for _, p := range st.parts {
		for id, n := range p.seen {
			out[id] += n
		}
	}
	return out
}

// Window returns how many times each record is counted in the window starting at start.
func (st *Store) Window(start time.Time) map[string]int {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := map[string]int{}
	for k, p := range st.parts {
		if k.Start.Equal(start) {
			for id, n := range p.seen {
				out[id] += n
			}
		}
	}
	return out
}

// Distinct is how many different records are durable.
func (st *Store) Distinct() int { return len(st.Counts()) }

// DeadLetters is how many dead letters were written.
func (st *Store) DeadLetters() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.deadLetters
}

// Conflicts is how many times a partial was written again with bytes other than it had, and
// how they differed.
func (st *Store) Conflicts() (int, []string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.conflicts, slices.Clone(st.conflictLog)
}

// Check returns how many of the records named in ids are not durable, and how many extra
// times records are counted beyond once.
func (st *Store) Check(ids []string) (missing, dups int) {
	counts := st.Counts()
	for _, id := range ids {
		switch n := counts[id]; {
		case n == 0:
			missing++
		case n > 1:
			dups += n - 1
		}
	}
	return missing, dups
}

// sink is one worker's view of the store; a crashed worker's writes all fail.
type sink struct {
	st      *Store
	crashed *atomic.Bool
}

func (s sink) WritePartial(ctx context.Context, start time.Time, p pipeline.Partition, body []byte) error {
	if s.st.stalled.Load() {
		s.st.waiting.Add(1)
		defer s.st.waiting.Add(-1)
	}
	for s.st.stalled.Load() {
		select {
		case <-time.After(5 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if s.crashed.Load() {
		return io.ErrClosedPipe
	}
	pt, err := pipeline.DecodePartial(body)
	if err != nil {
		return err
	}
	if pt.Ended && s.st.OnEnded != nil {
		s.st.OnEnded(p)
	}
	seen := map[string]int{}
	for _, os := range pt.Ops {
		if os.Name == "ids" {
			if err := msgpack.Unmarshal(os.State, &seen); err != nil {
				return err
			}
		}
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	k := pipelinetest.Key{Start: start.UTC(), Partition: p}
	if old, ok := s.st.parts[k]; ok && !bytes.Equal(old.body, body) {
		s.st.conflicts++
		if prev, err := pipeline.DecodePartial(old.body); err == nil {
			s.st.conflictLog = append(s.st.conflictLog, fmt.Sprintf("%v %v: was %d records (%v..%v) dropped %v, now %d (%v..%v) dropped %v",
				start.UTC().Format(time.TimeOnly), p, prev.Records, prev.First, prev.Last, prev.Dropped, pt.Records, pt.First, pt.Last, pt.Dropped))
		}
	}
	s.st.parts[k] = partial{body: bytes.Clone(body), seen: seen}
	return nil
}

func (s sink) WriteDeadLetters(_ context.Context, l []pipeline.DeadLetter) error {
	if s.crashed.Load() {
		return io.ErrClosedPipe
	}
	s.st.mu.Lock()
	s.st.deadLetters += len(l)
	s.st.mu.Unlock()
	return nil
}

// idsOp is the suite's operator: its partial lists every record it saw by ID, so a test can
// tell exactly which records reached a durable partial.
type idsOp struct {
	id      func(*pipeline.Record) string
	cost    time.Duration
	observe func(*pipeline.Record)
}

func (idsOp) Name() string { return "ids" }
func (o idsOp) NewState(pipeline.Partition) pipeline.State {
	return &idsState{Seen: map[string]int{}, op: o}
}

type idsState struct {
	Seen map[string]int
	op   idsOp
}

func (s *idsState) Observe(r *pipeline.Record, _ []decode.Value) {
	for end := time.Now().Add(s.op.cost); s.op.cost > 0 && time.Now().Before(end); {
	}
	s.Seen[s.op.id(r)]++
	if s.op.observe != nil {
		s.op.observe(r)
	}
}
func (s *idsState) Merge(o pipeline.State) error {
	for k, v := range o.(*idsState).Seen {
		s.Seen[k] += v
	}
	return nil
}
func (s *idsState) Emit(_ pipeline.Window, out *pipeline.Output) {
	out.Reports = append(out.Reports, pipeline.Report{Kind: "test", Name: "ids", Body: s.Seen})
}

// EncodeMsgpack writes the IDs in sorted order: a partial written again from the same records
// must be the same bytes (msgpack sorts only a few map types itself).
func (s *idsState) EncodeMsgpack(e *msgpack.Encoder) error {
	if err := e.EncodeMapLen(len(s.Seen)); err != nil {
		return err
	}
	for _, id := range slices.Sorted(maps.Keys(s.Seen)) {
		if err := e.EncodeString(id); err != nil {
			return err
		}
		if err := e.EncodeInt(int64(s.Seen[id])); err != nil {
			return err
		}
	}
	return nil
}
func (s *idsState) DecodeMsgpack(d *msgpack.Decoder) error { return d.Decode(&s.Seen) }

// committer forwards commit points to the source until the worker "crashes", except those of
// the partitions withhold names.
type committer struct {
	src      Source
	crashed  *atomic.Bool
	withhold func(pipeline.Partition) bool
}

func (c *committer) Commit(p pipeline.Partition, cp pipeline.Checkpoint) {
	if !c.crashed.Load() && (c.withhold == nil || !c.withhold(p)) {
		c.src.Commit(p, cp)
	}
}

// crashableRuntime does nothing on revoke once crashed: a dead process flushes nothing.
type crashableRuntime struct {
	*pipeline.Runtime
	crashed *atomic.Bool
}

func (r crashableRuntime) Revoke(ctx context.Context, p pipeline.Partition) {
	if !r.crashed.Load() {
		r.Runtime.Revoke(ctx, p)
	}
}

// Options shape a test worker.
type Options struct {
	// Name tells the worker apart in logs and dumps.
	Name string
	// Budget is the in-flight budget. Default 64 MiB.
	Budget int64
	// Window is the runtime's windowing. Default: DefaultWindow.
	Window *pipeline.WindowConfig
	// RecordCost makes the operator spin that long per record, so runners are slower than the
	// fetches.
	RecordCost time.Duration
	// Observe, if set, sees every record the operator folds in, on the runner's goroutine.
	Observe func(*pipeline.Record)
	// Log also receives the worker's log lines (text), besides WEIR_TEST_LOG's stderr.
	Log io.Writer
	// Describe, if set, adds the source's own state to the worker's dump (held leases, say).
	Describe func() string
	// Withhold, if set, keeps the commit points of the partitions it names from the source:
	// their partials become durable, their checkpoints never move, as when a process dies
	// after a partial is written and before the source stores the commit point it allowed
	// (a Kinesis checkpoint waits up to CheckpointInterval, a Kafka commit its own interval,
	// and either for a slow server).
	Withhold func(pipeline.Partition) bool
}

// DefaultWindow is the test workers' windowing: one-second windows by the records' broker
// time, no allowed lateness, idle after 200ms.
func DefaultWindow() pipeline.WindowConfig {
	wc := pipeline.DefaultWindowConfig()
	wc.Period, wc.AllowedLateness, wc.IdleTimeout = time.Second, 0, 200*time.Millisecond
	return wc
}

// Worker is a source and a pipeline runtime wired as the worker wires them, writing to a Store.
type Worker struct {
	Name   string
	Src    Source
	RT     *pipeline.Runtime
	Reg    *prometheus.Registry
	Budget *pipeline.Budget

	describe func() string
	crashed  *atomic.Bool
	cancel   context.CancelFunc
	runErr   chan error
}

// Start builds a source with open and runs it with a runtime writing to st; it returns the
// worker and the source, as open typed it. The worker is crashed at the end of the test if it
// was not stopped.
func Start[S Source](t *testing.T, st *Store, open func(Deps) (S, error), o Options) (*Worker, S) {
	t.Helper()
	if o.Budget == 0 {
		o.Budget = 64 << 20
	}
	wc := DefaultWindow()
	if o.Window != nil {
		wc = *o.Window
	}
	w := &Worker{Name: o.Name, Reg: prometheus.NewRegistry(), crashed: new(atomic.Bool), Budget: pipeline.NewBudget(o.Budget),
		describe: o.Describe}
	var out io.Writer = io.Discard
	if os.Getenv("WEIR_TEST_LOG") != "" {
		out = os.Stderr
	}
	if o.Log != nil {
		out = io.MultiWriter(out, o.Log)
	}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test_worker", o.Name)
	pm := pipeline.NewMetrics(w.Reg)
	src, err := open(Deps{Budget: w.Budget, Registry: w.Reg, Metrics: pm, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	sk := sink{st: st, crashed: w.crashed}
	rt, err := pipeline.New(pipeline.Options{
		Window: wc, Plan: decode.NewPlan(decode.JSON),
		Operators: []pipeline.Operator{idsOp{id: st.id, cost: o.RecordCost, observe: o.Observe}},
		Partials:  sk, DeadLetters: sk, Committer: &committer{src: src, crashed: w.crashed, withhold: o.Withhold},
		Budget: w.Budget, Metrics: pm, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	rt.Start()
	w.Src, w.RT = src, rt
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	w.runErr = make(chan error, 1)
	go func() { w.runErr <- src.Run(ctx, crashableRuntime{rt, w.crashed}) }()
	t.Cleanup(func() {
		if w.cancel != nil {
			w.Crash(t)
		}
	})
	return w, src
}

// Stop is the graceful shutdown the worker performs: stop fetching, drain, commit, release.
func (w *Worker) Stop(t *testing.T) {
	t.Helper()
	if err := w.StopSource(t); err != nil {
		t.Errorf("%s: source close: %v", w.Name, err)
	}
}

// StopSource is Stop for a test that makes the source's close fail (a broker refusing the
// final commit): it returns that error instead of failing the test on it.
func (w *Worker) StopSource(t *testing.T) error {
	t.Helper()
	return w.StopWithin(t, 20*time.Second)
}

// StopWithin is StopSource within the worker's shutdown deadline d, which starts as Run is
// told to stop and bounds the runtime's Close and the source's (as worker.Config's
// ShutdownTimeout does); Run itself must return promptly, the caller times it.
func (w *Worker) StopWithin(t *testing.T, d time.Duration) error {
	t.Helper()
	rtErr, srcErr := w.StopByDeadline(t, d)
	if rtErr != nil {
		t.Errorf("%s: runtime close: %v", w.Name, rtErr)
	}
	return srcErr
}

// StopByDeadline is StopWithin for a test whose store cannot make everything durable by the
// deadline: it returns the runtime's close error too, instead of failing the test on it.
func (w *Worker) StopByDeadline(t *testing.T, d time.Duration) (rtErr, srcErr error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	w.cancel()
	w.cancel = nil
	if err := <-w.runErr; err != nil {
		t.Errorf("%s: Run: %v", w.Name, err)
	}
	rtErr = w.RT.Close(ctx)
	return rtErr, w.Src.Close(ctx)
}

// Crash stops the worker as a killed process would: nothing more is written, committed or
// released.
func (w *Worker) Crash(t *testing.T) {
	t.Helper()
	w.crashed.Store(true)
	w.cancel()
	w.cancel = nil
	<-w.runErr
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = w.RT.Close(ctx)
	_ = w.Src.Close(ctx)
}

// Dump logs the worker's non-zero counters and gauges, to see where a stuck test is stuck.
func (w *Worker) Dump(t *testing.T) {
	t.Helper()
	mfs, _ := w.Reg.Gather()
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			if v != 0 && !strings.Contains(mf.GetName(), "seconds") {
				t.Logf("%s %s%v = %v", w.Name, mf.GetName(), m.GetLabel(), v)
			}
		}
	}
	t.Logf("%s stats %+v, budget in use %d", w.Name, w.RT.Stats(), w.Budget.InUse())
	if w.describe != nil {
		t.Logf("%s %s", w.Name, w.describe())
	}
}

// WaitUntil polls cond until it holds, or fails the test after d, dumping the workers (and,
// with WEIR_TEST_STACKS set to a path, every goroutine's stack there).
func WaitUntil(t *testing.T, d time.Duration, what string, cond func() bool, workers ...*Worker) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			for _, w := range workers {
				w.Dump(t)
			}
			if path := os.Getenv("WEIR_TEST_STACKS"); path != "" {
				if f, err := os.Create(path); err == nil {
					_ = pprof.Lookup("goroutine").WriteTo(f, 2)
					f.Close()
				}
			}
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
