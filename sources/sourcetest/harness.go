package sourcetest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
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

// Store is the durable output of every worker of a test: how many times each record (by its
// ID) was counted in a durable window, per window too.
type Store struct {
	id func(*pipeline.Record) string

	// stalled makes every Write wait while it is set: a stalled sink (see Stall).
	stalled atomic.Bool

	mu          sync.Mutex
	counts      map[string]int
	windows     map[time.Time]map[string]int
	deadLetters int
}

// Stall makes the workers' sinks block every Write (until the write's context ends) while on
// is true, and lets them go on when it is false.
func (st *Store) Stall(on bool) { st.stalled.Store(on) }

// NewStore returns an empty store naming records by id (a record's ID must be unique in the
// stream and the same however often the record is read).
func NewStore(id func(*pipeline.Record) string) *Store {
	return &Store{id: id, counts: map[string]int{}, windows: map[time.Time]map[string]int{}}
}

// Counts returns how many times each record was counted in a durable window.
func (st *Store) Counts() map[string]int {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make(map[string]int, len(st.counts))
	for k, v := range st.counts {
		out[k] = v
	}
	return out
}

// Window returns how many times each record was counted in the window starting at start.
func (st *Store) Window(start time.Time) map[string]int {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := map[string]int{}
	for k, v := range st.windows[start] {
		out[k] = v
	}
	return out
}

// Distinct is how many different records are durable.
func (st *Store) Distinct() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.counts)
}

// DeadLetters is how many dead letters were written.
func (st *Store) DeadLetters() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.deadLetters
}

// Check returns how many of the records named in ids are not durable, and how many extra
// times records were counted beyond once.
func (st *Store) Check(ids []string) (missing, dups int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, id := range ids {
		switch n := st.counts[id]; {
		case n == 0:
			missing++
		case n > 1:
			dups += n - 1
		}
	}
	return missing, dups
}

// sink is one worker's view of the store; a crashed worker's sink refuses every write.
type sink struct {
	st      *Store
	crashed *atomic.Bool
}

func (s sink) Name() string { return "store" }

func (s sink) Write(ctx context.Context, out *pipeline.Output) error {
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
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	for _, r := range out.Reports {
		seen, ok := r.Body.(map[string]int)
		if !ok {
			continue
		}
		w := s.st.windows[out.Window.Start]
		if w == nil {
			w = map[string]int{}
			s.st.windows[out.Window.Start] = w
		}
		for id, n := range seen {
			s.st.counts[id] += n
			w[id] += n
		}
	}
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

func (s sink) Close(context.Context) error { return nil }

// idsOp is the suite's operator: its output lists every record it saw by ID, so a test can tell
// exactly which records reached a durable output.
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
func (s *idsState) EncodeMsgpack(e *msgpack.Encoder) error { return e.Encode(s.Seen) }
func (s *idsState) DecodeMsgpack(d *msgpack.Decoder) error { return d.Decode(&s.Seen) }

// committer forwards commit points to the source until the worker "crashes".
type committer struct {
	src     Source
	crashed *atomic.Bool
}

func (c *committer) Commit(p pipeline.Partition, pos pipeline.Position) {
	if !c.crashed.Load() {
		c.src.Commit(p, pos)
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
		Sinks:     []pipeline.Sink{sk}, DeadLetters: sk, Committer: &committer{src: src, crashed: w.crashed},
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
	w.cancel()
	w.cancel = nil
	if err := <-w.runErr; err != nil {
		t.Errorf("%s: Run: %v", w.Name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := w.RT.Close(ctx); err != nil {
		t.Errorf("%s: runtime close: %v", w.Name, err)
	}
	if err := w.Src.Close(ctx); err != nil {
		t.Errorf("%s: source close: %v", w.Name, err)
	}
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
