package kinesis_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/weirstream/weir/internal/awsconf"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/sources/kinesis"
)

// env is one test's AWS endpoint (moto, or kinesalite for Kinesis with moto for DynamoDB).
type env struct {
	kinCfg aws.Config // Kinesis endpoint
	ddbCfg aws.Config // DynamoDB endpoint
	kin    *awskinesis.Client
	ddb    *dynamodb.Client
}

func awsConfig(t *testing.T, endpoint string) aws.Config {
	t.Helper()
	c := awsconf.Config{Endpoint: endpoint, LocalCredentials: true, Region: "us-east-1"}
	cfg, err := c.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func newEnv(t *testing.T, kinEndpoint, ddbEndpoint string) *env {
	e := &env{kinCfg: awsConfig(t, kinEndpoint), ddbCfg: awsConfig(t, ddbEndpoint)}
	e.kin = awskinesis.NewFromConfig(e.kinCfg)
	e.ddb = dynamodb.NewFromConfig(e.ddbCfg)
	return e
}

func (e *env) createStream(t *testing.T, name string, shards int32) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.kin.CreateStream(ctx, &awskinesis.CreateStreamInput{StreamName: &name, ShardCount: &shards}); err != nil {
		t.Fatal(err)
	}
	e.waitActive(t, name)
}

func (e *env) waitActive(t *testing.T, name string) {
	t.Helper()
	waitUntil(t, 30*time.Second, "stream "+name+" active", func() bool {
		out, err := e.kin.DescribeStreamSummary(context.Background(), &awskinesis.DescribeStreamSummaryInput{StreamName: &name})
		return err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive
	})
}

// record is the payload of every test record: "key/index", so a test can tell records apart and
// check per-key order from the payload alone.
func record(key string, i int) []byte { return fmt.Appendf(nil, "%s/%06d", key, i) }

func parseRecord(v []byte) (string, int) {
	key, idx, _ := strings.Cut(string(v), "/")
	i, _ := strconv.Atoi(idx)
	return key, i
}

// producer writes records key/0, key/1, ... for each key, in order per key.
type producer struct {
	e      *env
	stream string
	keys   []string
	mu     sync.Mutex
	next   map[string]int
}

type awsEntry = types.PutRecordsRequestEntry

var errFailedRecords = errors.New("PutRecords: some records failed")

func (p *producer) nextOf(k string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.next[k]
}

func newProducer(e *env, stream string, nkeys int) *producer {
	p := &producer{e: e, stream: stream, next: map[string]int{}}
	for i := range nkeys {
		p.keys = append(p.keys, fmt.Sprintf("key-%03d", i))
	}
	return p
}

// put writes n more records for every key, one PutRecords call per round of keys (so per key
// the order of writes is the order of indexes).
func (p *producer) put(t *testing.T, n int) {
	t.Helper()
	for range n {
		var entries []types.PutRecordsRequestEntry
		for _, k := range p.keys {
			entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String(k), Data: record(k, p.nextOf(k))})
		}
		p.putEntries(t, entries)
		p.mu.Lock()
		for _, k := range p.keys {
			p.next[k]++
		}
		p.mu.Unlock()
	}
}

func (p *producer) putEntries(t *testing.T, entries []types.PutRecordsRequestEntry) {
	t.Helper()
	for len(entries) > 0 {
		out, err := p.e.kin.PutRecords(context.Background(), &awskinesis.PutRecordsInput{StreamName: &p.stream, Records: entries})
		if err != nil {
			t.Fatalf("PutRecords: %v", err)
		}
		if aws.ToInt32(out.FailedRecordCount) == 0 {
			return
		}
		// Retry only the failed entries, keeping their order: a partial retry could reorder a key.
		t.Fatalf("PutRecords: %d records failed", aws.ToInt32(out.FailedRecordCount))
	}
}

func (p *producer) total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, v := range p.next {
		n += v
	}
	return n
}

// log is the order in which records were folded in, across every runner of every worker.
type foldLog struct {
	mu    sync.Mutex
	order map[string][]int // key -> indexes in fold order
}

func newFoldLog() *foldLog { return &foldLog{order: map[string][]int{}} }

// idsOp is a test operator whose output lists every record payload it saw, so a test can tell
// exactly which records reached a durable output. It also logs the fold order.
type idsOp struct{ log *foldLog }

func (idsOp) Name() string { return "ids" }
func (o idsOp) NewState(pipeline.Partition) pipeline.State {
	return &idsState{Seen: map[string]int{}, log: o.log}
}

type idsState struct {
	Seen map[string]int
	log  *foldLog
}

func (s *idsState) Observe(r *pipeline.Record, _ []decode.Value) {
	s.Seen[string(r.Value)]++
	if s.log != nil {
		k, i := parseRecord(r.Value)
		s.log.mu.Lock()
		s.log.order[k] = append(s.log.order[k], i)
		s.log.mu.Unlock()
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

// store is the durable output of every worker in a test: how many times each record was
// counted in a durable window.
type store struct {
	mu          sync.Mutex
	counts      map[string]int
	deadLetters int
}

func newStore() *store { return &store{counts: map[string]int{}} }

type sink struct {
	st      *store
	crashed *atomic.Bool
}

func (s sink) Name() string { return "store" }
func (s sink) Write(_ context.Context, out *pipeline.Output) error {
	if s.crashed.Load() {
		return io.ErrClosedPipe
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	for _, r := range out.Reports {
		for id, n := range r.Body.(map[string]int) {
			s.st.counts[id] += n
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

func (st *store) distinct() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.counts)
}

// check returns how many produced records are missing and how many were counted more than
// once (the extra counts).
func (st *store) check(p *producer) (missing, dups int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, k := range p.keys {
		for i := range p.next[k] {
			switch n := st.counts[string(record(k, i))]; {
			case n == 0:
				missing++
			case n > 1:
				dups += n - 1
			}
		}
	}
	return missing, dups
}

type committer struct {
	src     *kinesis.Source
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

type worker struct {
	id      string
	src     *kinesis.Source
	rt      *pipeline.Runtime
	reg     *prometheus.Registry
	budget  *pipeline.Budget
	crashed *atomic.Bool
	cancel  context.CancelFunc
	runErr  chan error
}

type workerOpts struct {
	id     string
	table  string
	budget int64
	log    *foldLog
	cfg    func(*kinesis.Config)
	opts   []kinesis.Option
	logs   io.Writer // also gets the worker's log lines (text format)
	// window, if set, changes the runtime's window configuration (processing time by default).
	window func(*pipeline.WindowConfig)
}

func testLogger() *slog.Logger {
	var out io.Writer = io.Discard
	if os.Getenv("WEIR_TEST_LOG") != "" {
		out = os.Stderr
	}
	return slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// testConfig is a fast configuration for tests: short leases, frequent checkpoints.
func testConfig(stream, table, id string) kinesis.Config {
	cfg := kinesis.DefaultConfig()
	cfg.Stream, cfg.LeaseTable, cfg.WorkerID = stream, table, id
	cfg.LeaseDuration = 3 * time.Second
	cfg.RenewInterval = 500 * time.Millisecond
	cfg.CheckpointInterval = 200 * time.Millisecond
	cfg.PollInterval = 200 * time.Millisecond
	cfg.ShardSyncInterval = 2 * time.Second
	cfg.Retry.InitialBackoff = 50 * time.Millisecond
	cfg.Retry.MaxBackoff = time.Second
	return cfg
}

func (e *env) startWorker(t *testing.T, stream string, st *store, o workerOpts) *worker {
	t.Helper()
	if o.budget == 0 {
		o.budget = 64 << 20
	}
	if o.table == "" {
		o.table = "leases-" + stream
	}
	w := &worker{id: o.id, reg: prometheus.NewRegistry(), crashed: new(atomic.Bool), budget: pipeline.NewBudget(o.budget)}
	log := testLogger().With("test_worker", o.id)
	if o.logs != nil {
		log = slog.New(slog.NewTextHandler(o.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	pm := pipeline.NewMetrics(w.reg)
	cfg := testConfig(stream, o.table, o.id)
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	// Kinesis and DynamoDB may be different servers (kinesalite for resharding): the source
	// takes one aws.Config, so the Kinesis client is swapped for one on the Kinesis endpoint.
	kinClient := awskinesis.NewFromConfig(e.kinCfg)
	opts := append([]kinesis.Option{kinesis.WithStreamAPI(func(kinesis.StreamAPI) kinesis.StreamAPI { return kinClient })}, o.opts...)
	src, err := kinesis.New(context.Background(), cfg, e.ddbCfg, w.budget, w.reg, pm, log, opts...)
	if err != nil {
		t.Fatal(err)
	}
	wc := pipeline.DefaultWindowConfig()
	wc.Period = time.Second
	wc.Time = pipeline.ProcessingTime
	wc.AllowedLateness = 0
	wc.IdleTimeout = 200 * time.Millisecond
	if o.window != nil {
		o.window(&wc)
	}
	sk := sink{st: st, crashed: w.crashed}
	rt, err := pipeline.New(pipeline.Options{
		Window: wc, Plan: decode.NewPlan(decode.JSON), Operators: []pipeline.Operator{idsOp{log: o.log}},
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
	t.Cleanup(func() {
		if w.cancel != nil {
			w.crash(t)
		}
	})
	return w
}

// stop is the graceful shutdown the worker's main performs: stop fetching, drain, checkpoint,
// release the leases.
func (w *worker) stop(t *testing.T) {
	t.Helper()
	w.cancel()
	w.cancel = nil
	if err := <-w.runErr; err != nil {
		t.Errorf("Run: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := w.rt.Close(ctx); err != nil {
		t.Errorf("runtime close: %v", err)
	}
	if err := w.src.Close(ctx); err != nil {
		t.Errorf("source close: %v", err)
	}
}

// crash stops the worker as a killed process would: nothing more is written, checkpointed or
// released; its leases expire.
func (w *worker) crash(t *testing.T) {
	t.Helper()
	w.crashed.Store(true)
	w.cancel()
	w.cancel = nil
	<-w.runErr
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = w.rt.Close(ctx)
	_ = w.src.Close(ctx)
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool, workers ...*worker) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			for _, w := range workers {
				w.dump(t)
			}
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dump logs the worker's non-zero metrics, to see where a stuck test is stuck.
func (w *worker) dump(t *testing.T) {
	mfs, _ := w.reg.Gather()
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			if v != 0 && !strings.Contains(mf.GetName(), "seconds") && strings.Contains(mf.GetName(), "kinesis") {
				t.Logf("%s %s%v = %v", w.id, mf.GetName(), m.GetLabel(), v)
			}
		}
	}
	t.Logf("%s stats %+v, held %v", w.id, w.rt.Stats(), w.src.Held())
}

// leaseRow is a lease as the table holds it.
type leaseRow struct {
	Owner      string
	Counter    int64
	Checkpoint string
	Sub        int64
	Parents    []string
}

func (e *env) leases(t *testing.T, table string) map[string]leaseRow {
	t.Helper()
	out, err := e.ddb.Scan(context.Background(), &dynamodb.ScanInput{TableName: &table, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]leaseRow{}
	for _, it := range out.Items {
		var r leaseRow
		if v, ok := it["leaseOwner"].(*ddbtypes.AttributeValueMemberS); ok {
			r.Owner = v.Value
		}
		if v, ok := it["leaseCounter"].(*ddbtypes.AttributeValueMemberN); ok {
			r.Counter, _ = strconv.ParseInt(v.Value, 10, 64)
		}
		if v, ok := it["checkpoint"].(*ddbtypes.AttributeValueMemberS); ok {
			r.Checkpoint = v.Value
		}
		if v, ok := it["checkpointSubSequenceNumber"].(*ddbtypes.AttributeValueMemberN); ok {
			r.Sub, _ = strconv.ParseInt(v.Value, 10, 64)
		}
		if v, ok := it["parentShardIds"].(*ddbtypes.AttributeValueMemberSS); ok {
			r.Parents = v.Value
		}
		rows[it["leaseKey"].(*ddbtypes.AttributeValueMemberS).Value] = r
	}
	return rows
}

// lastSequence returns each shard's last sequence number (reading it whole).
func (e *env) lastSequence(t *testing.T, stream string) map[string]string {
	t.Helper()
	ctx := context.Background()
	shards, err := e.kin.ListShards(ctx, &awskinesis.ListShardsInput{StreamName: &stream})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, sh := range shards.Shards {
		it, err := e.kin.GetShardIterator(ctx, &awskinesis.GetShardIteratorInput{StreamName: &stream, ShardId: sh.ShardId,
			ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		iter := it.ShardIterator
		for iter != nil {
			r, err := e.kin.GetRecords(ctx, &awskinesis.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				t.Fatal(err)
			}
			for _, rec := range r.Records {
				out[*sh.ShardId] = *rec.SequenceNumber
			}
			if len(r.Records) == 0 {
				break
			}
			iter = r.NextShardIterator
		}
	}
	return out
}
