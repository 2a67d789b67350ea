package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/sources/kafka"
)

const topic = "events"

var t0 = time.Date(2026, 11, 20, 13, 0, 0, 0, time.UTC)

func newCluster(t *testing.T, partitions int32) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(partitions, topic),
		kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// produce writes n records per partition; record i of a partition has timestamp t0 + i*step.
func produce(t *testing.T, addrs []string, partitions int32, n int, step time.Duration) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchMaxBytes(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var wg sync.WaitGroup
	var perr atomic.Value
	for p := range partitions {
		for i := range n {
			wg.Add(1)
			r := &kgo.Record{Topic: topic, Partition: p, Timestamp: t0.Add(time.Duration(i) * step),
				Value: fmt.Appendf(nil, `{"p":%d,"i":%d,"pad":"0123456789012345678901234567890123456789"}`, p, i)}
			cl.Produce(context.Background(), r, func(_ *kgo.Record, err error) {
				if err != nil {
					perr.Store(err)
				}
				wg.Done()
			})
		}
	}
	wg.Wait()
	if err, ok := perr.Load().(error); ok {
		t.Fatal(err)
	}
}

// produce2 writes n more records per partition, continuing the timestamps after the first from.
func produce2(t *testing.T, addrs []string, partitions int32, from, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for p := range partitions {
		var rs []*kgo.Record
		for i := from; i < from+n; i++ {
			rs = append(rs, &kgo.Record{Topic: topic, Partition: p, Timestamp: t0.Add(time.Duration(i) * 2 * time.Millisecond),
				Value: fmt.Appendf(nil, `{"p":%d,"i":%d}`, p, i)})
		}
		if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

// offsetsOp is a test operator whose output lists every offset it saw, so a test can tell
// exactly which records reached a durable output.
type offsetsOp struct{}

func (offsetsOp) Name() string { return "offsets" }
func (offsetsOp) NewState(p pipeline.Partition) pipeline.State {
	return &offsetsState{Seen: map[string][]int64{}, part: p.ID}
}

type offsetsState struct {
	Seen map[string][]int64
	part string
}

func (s *offsetsState) Observe(r *pipeline.Record, _ []decode.Value) {
	s.Seen[s.part] = append(s.Seen[s.part], r.Position.Offset)
}
func (s *offsetsState) Merge(o pipeline.State) error {
	for k, v := range o.(*offsetsState).Seen {
		s.Seen[k] = append(s.Seen[k], v...)
	}
	return nil
}
func (s *offsetsState) Emit(_ pipeline.Window, out *pipeline.Output) {
	out.Reports = append(out.Reports, pipeline.Report{Kind: "test", Name: "offsets", Body: s.Seen})
}
func (s *offsetsState) EncodeMsgpack(e *msgpack.Encoder) error { return e.Encode(s.Seen) }
func (s *offsetsState) DecodeMsgpack(d *msgpack.Decoder) error { return d.Decode(&s.Seen) }

// slowOffsetsOp is offsetsOp spending cost of CPU on every record.
type slowOffsetsOp struct{ cost time.Duration }

func (slowOffsetsOp) Name() string { return "offsets" }
func (o slowOffsetsOp) NewState(p pipeline.Partition) pipeline.State {
	return &slowOffsetsState{offsetsState: offsetsOp{}.NewState(p).(*offsetsState), cost: o.cost}
}

type slowOffsetsState struct {
	*offsetsState
	cost time.Duration
}

func (s *slowOffsetsState) Observe(r *pipeline.Record, v []decode.Value) {
	for end := time.Now().Add(s.cost); time.Now().Before(end); {
	}
	s.offsetsState.Observe(r, v)
}
func (s *slowOffsetsState) Merge(o pipeline.State) error {
	return s.offsetsState.Merge(o.(*slowOffsetsState).offsetsState)
}

// store is the durable output of every worker in a test: which offsets of which partition were
// counted, and how many times.
type store struct {
	mu        sync.Mutex
	counts    map[string]map[int64]int
	perWindow map[time.Time]map[string]int
	gate      chan struct{} // if set, a Write waits for it
	stalled   atomic.Bool   // while set, a Write waits (until it is cleared or its context ends)
}

func newStore() *store {
	return &store{counts: map[string]map[int64]int{}, perWindow: map[time.Time]map[string]int{}}
}

// sink is one worker's view of the store; a crashed worker's sink refuses every write.
type sink struct {
	st      *store
	crashed *atomic.Bool
}

func (s sink) Name() string { return "store" }
func (s sink) Write(ctx context.Context, out *pipeline.Output) error {
	if s.st.gate != nil {
		select {
		case <-s.st.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
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
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	for _, r := range out.Reports {
		for p, offs := range r.Body.(map[string][]int64) {
			if s.st.perWindow[out.Window.Start] == nil {
				s.st.perWindow[out.Window.Start] = map[string]int{}
			}
			s.st.perWindow[out.Window.Start][p] += len(offs)
			if s.st.counts[p] == nil {
				s.st.counts[p] = map[int64]int{}
			}
			for _, o := range offs {
				s.st.counts[p][o]++
			}
		}
	}
	return nil
}
func (s sink) WriteDeadLetters(context.Context, []pipeline.DeadLetter) error {
	if s.crashed.Load() {
		return io.ErrClosedPipe
	}
	return nil
}
func (s sink) Close(context.Context) error { return nil }

// covered returns, per partition, how many distinct offsets are durable and the length of the
// durable prefix (every offset below it is durable).
func (st *store) covered() (distinct, prefix map[string]int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	distinct, prefix = map[string]int64{}, map[string]int64{}
	for p, m := range st.counts {
		distinct[p] = int64(len(m))
		var n int64
		for m[n] > 0 {
			n++
		}
		prefix[p] = n
	}
	return distinct, prefix
}

func (st *store) total() int64 {
	d, _ := st.covered()
	var n int64
	for _, v := range d {
		n += v
	}
	return n
}

// committer forwards commit points to the source until the worker "crashes".
type committer struct {
	src     *kafka.Source
	crashed *atomic.Bool
}

func (c *committer) Commit(p pipeline.Partition, pos pipeline.Position) {
	if !c.crashed.Load() && c.src != nil {
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

type worker struct {
	src     *kafka.Source
	rt      *pipeline.Runtime
	reg     *prometheus.Registry
	budget  *pipeline.Budget
	crashed *atomic.Bool
	cancel  context.CancelFunc
	runErr  chan error
}

type workerOpts struct {
	budget int64
	period time.Duration
	idle   time.Duration
	// fetchMaxWait overrides the source's (100ms); recordCost makes the operator spin that long
	// per record, so the runners are slower than the fetches.
	fetchMaxWait time.Duration
	recordCost   time.Duration
	// commitInterval overrides the source's (100ms); revokeTimeout its (3s).
	commitInterval time.Duration
	revokeTimeout  time.Duration
}

func startWorker(t *testing.T, addrs []string, group string, st *store, o workerOpts) *worker {
	t.Helper()
	if o.budget == 0 {
		o.budget = 64 << 20
	}
	if o.period == 0 {
		o.period = time.Second
	}
	if o.idle == 0 {
		o.idle = 200 * time.Millisecond
	}
	w := &worker{reg: prometheus.NewRegistry(), crashed: new(atomic.Bool), budget: pipeline.NewBudget(o.budget)}
	var out io.Writer = io.Discard
	if os.Getenv("WEIR_TEST_LOG") != "" {
		out = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	pm := pipeline.NewMetrics(w.reg)
	cfg := kafka.DefaultConfig()
	cfg.Brokers, cfg.Topics, cfg.Group = addrs, []string{topic}, group
	cfg.SessionTimeout = 2 * time.Second
	cfg.RebalanceTimeout = 5 * time.Second
	cfg.RevokeTimeout = 3 * time.Second
	if o.revokeTimeout > 0 {
		cfg.RevokeTimeout = o.revokeTimeout
	}
	cfg.RevokeCommitTimeout = time.Second
	cfg.FetchMaxWait = 100 * time.Millisecond
	if o.fetchMaxWait > 0 {
		cfg.FetchMaxWait = o.fetchMaxWait
	}
	cfg.CommitInterval = 100 * time.Millisecond
	if o.commitInterval > 0 {
		cfg.CommitInterval = o.commitInterval
	}
	src, err := kafka.New(context.Background(), cfg, w.budget, w.reg, pm, log, kgo.HeartbeatInterval(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	wc := pipeline.DefaultWindowConfig()
	wc.Period = o.period
	wc.AllowedLateness = 0
	wc.IdleTimeout = o.idle
	sk := sink{st: st, crashed: w.crashed}
	var op pipeline.Operator = offsetsOp{}
	if o.recordCost > 0 {
		op = slowOffsetsOp{cost: o.recordCost}
	}
	rt, err := pipeline.New(pipeline.Options{
		Window: wc, Plan: decode.NewPlan(decode.JSON), Operators: []pipeline.Operator{op},
		Sinks: []pipeline.Sink{sk}, DeadLetters: sk, Committer: &committer{src: src, crashed: w.crashed},
		Budget: w.budget, Metrics: pm, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	rt.Start()
	w.src, w.rt = src, rt
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	w.runErr = make(chan error, 1)
	go func() { w.runErr <- src.Run(ctx, crashableRuntime{rt, w.crashed}) }()
	return w
}

// stop is the graceful shutdown the worker's main performs: stop fetching, drain, commit, leave.
func (w *worker) stop(t *testing.T) {
	t.Helper()
	w.cancel()
	if err := <-w.runErr; err != nil {
		t.Errorf("Run: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.rt.Close(ctx); err != nil {
		t.Errorf("runtime close: %v", err)
	}
	if err := w.src.Close(ctx); err != nil {
		t.Errorf("source close: %v", err)
	}
}

// crash stops the worker as a killed process would: nothing more is written or committed.
func (w *worker) crash(t *testing.T) {
	t.Helper()
	w.crashed.Store(true)
	w.cancel()
	<-w.runErr
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = w.rt.Close(ctx)
	_ = w.src.Close(ctx)
}

func committedOffsets(t *testing.T, addrs []string, group string) map[string]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	resp, err := adm.FetchOffsets(context.Background(), group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return map[string]int64{} // nothing committed yet
	}
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	resp.Each(func(o kadm.OffsetResponse) {
		out[strconv.Itoa(int(o.Partition))] = o.At
	})
	return out
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool, workers ...*worker) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			for _, w := range workers {
				w.dump(t)
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

// dump logs the worker's non-zero metrics, to see where a stuck test is stuck.
func (w *worker) dump(t *testing.T) {
	mfs, _ := w.reg.Gather()
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			if v != 0 && !strings.Contains(mf.GetName(), "seconds") {
				t.Logf("%s%v = %v", mf.GetName(), m.GetLabel(), v)
			}
		}
	}
	t.Logf("stats %+v, budget in use %d", w.rt.Stats(), w.budget.InUse())
}

func itoa[T int | int32](i T) string { return strconv.Itoa(int(i)) }

func sortedKeys[M ~map[string]V, V any](m M) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
