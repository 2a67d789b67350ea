package kinesis_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/weirstream/weir/internal/awsconf"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/sources/kinesis"
	"github.com/weirstream/weir/sources/sourcetest"
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

// withDynamoDB is e with its DynamoDB calls made through c (a front that injects faults in
// front of the real server).
func (e *env) withDynamoDB(c aws.HTTPClient) *env {
	le := *e
	le.ddbCfg = e.ddbCfg.Copy()
	le.ddbCfg.HTTPClient = c
	return &le
}

// splitInHalf splits shard at the middle of the hash key range and waits for the stream to be
// active again (kinesalite: moto's resharding is wrong).
func (e *env) splitInHalf(t *testing.T, stream, shard string) {
	t.Helper()
	half := new(big.Int).Lsh(big.NewInt(1), 127).String()
	if _, err := e.kin.SplitShard(context.Background(), &awskinesis.SplitShardInput{StreamName: aws.String(stream),
		ShardToSplit: aws.String(shard), NewStartingHashKey: aws.String(half)}); err != nil {
		t.Fatal(err)
	}
	e.waitActive(t, stream)
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
	if err := p.e.putExactlyOnce(context.Background(), p.stream, entries, t.Logf); err != nil {
		t.Fatal(err)
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

// foldLog is the order in which records were folded in, across every runner of every worker.
type foldLog struct {
	mu    sync.Mutex
	order map[string][]int // key -> indexes in fold order
}

func newFoldLog() *foldLog { return &foldLog{order: map[string][]int{}} }

func (l *foldLog) observe(r *pipeline.Record) {
	k, i := parseRecord(r.Value)
	l.mu.Lock()
	l.order[k] = append(l.order[k], i)
	l.mu.Unlock()
}

// recordID names a record by its payload, which the producer makes unique: key/index.
func recordID(r *pipeline.Record) string { return string(r.Value) }

func newStore() *sourcetest.Store { return sourcetest.NewStore(recordID) }

// ids are the IDs of every record the producer wrote.
func (p *producer) ids() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, k := range p.keys {
		for i := range p.next[k] {
			out = append(out, string(record(k, i)))
		}
	}
	return out
}

// worker is the shared test worker with its Kinesis source at hand.
type worker struct {
	*sourcetest.Worker
	id  string
	src *kinesis.Source
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
	// leader, if set, makes the worker contend for the aggregator's row (WatchLeadership).
	leader func(held bool, token int64)
	// withhold, if set, keeps the commit points of the partitions it names from the source
	// (sourcetest.Options.Withhold).
	withhold func(pipeline.Partition) bool
	// built, if set, sees the source once built, before it runs (to attach a lag sampler).
	built func(*kinesis.Source)
}

// testConfig is a fast configuration for tests: short leases, frequent checkpoints.
//
// The renewal interval is also each lease write's budget. At 500 ms (with 3 s leases) moto on a
// CPU-loaded machine missed it write after write, for a whole lease duration at times, and a
// worker gave up a lease no other worker wanted: a clean handover then read records twice, and
// a clean stop left a shard's checkpoint behind. That is a server too slow for the
// configuration, and giving the lease up then is right; 1 s gives moto the room a production
// DynamoDB has at the default 3.3 s, and 5 s leases keep the same three renewals per lease.
func testConfig(stream, table, id string) kinesis.Config {
	cfg := kinesis.DefaultConfig()
	cfg.Stream, cfg.LeaseTable, cfg.WorkerID = stream, table, id
	cfg.LeaseDuration = 5 * time.Second
	cfg.RenewInterval = time.Second
	cfg.CheckpointInterval = 200 * time.Millisecond
	cfg.PollInterval = 200 * time.Millisecond
	cfg.ShardSyncInterval = 2 * time.Second
	cfg.Retry.InitialBackoff = 50 * time.Millisecond
	cfg.Retry.MaxBackoff = time.Second
	return cfg
}

// open returns a constructor of fleet members for stream. Kinesis and DynamoDB may be
// different servers (kinesalite for resharding): the source takes one aws.Config, so the
// Kinesis client is swapped for one on the Kinesis endpoint.
func (e *env) open(stream string, o workerOpts) func(sourcetest.Deps) (*kinesis.Source, error) {
	if o.table == "" {
		o.table = "leases-" + stream
	}
	return func(d sourcetest.Deps) (*kinesis.Source, error) {
		cfg := testConfig(stream, o.table, o.id)
		if o.cfg != nil {
			o.cfg(&cfg)
		}
		kinClient := awskinesis.NewFromConfig(e.kinCfg)
		opts := append([]kinesis.Option{kinesis.WithStreamAPI(func(kinesis.StreamAPI) kinesis.StreamAPI { return kinClient })}, o.opts...)
		src, err := kinesis.New(context.Background(), cfg, e.ddbCfg, d.Budget, d.Registry, d.Metrics, d.Logger, opts...)
		if err == nil && o.leader != nil {
			src.WatchLeadership(o.leader)
		}
		if err == nil && o.built != nil {
			o.built(src)
		}
		return src, err
	}
}

// window is the test workers' windowing: one-second windows by processing time.
func window(o workerOpts) pipeline.WindowConfig {
	wc := sourcetest.DefaultWindow()
	wc.Time = pipeline.ProcessingTime
	if o.window != nil {
		o.window(&wc)
	}
	return wc
}

func (e *env) startWorker(t *testing.T, stream string, st *sourcetest.Store, o workerOpts) *worker {
	t.Helper()
	w := &worker{id: o.id}
	so := sourcetest.Options{Name: o.id, Budget: o.budget, Log: o.logs, Window: new(pipeline.WindowConfig), Withhold: o.withhold}
	*so.Window = window(o)
	if o.log != nil {
		so.Observe = o.log.observe
	}
	so.Describe = func() string { return fmt.Sprintf("held %v", w.src.Held()) }
	w.Worker, w.src = sourcetest.Start(t, st, e.open(stream, o), so)
	return w
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool, workers ...*worker) {
	t.Helper()
	ws := make([]*sourcetest.Worker, len(workers))
	for i, w := range workers {
		ws[i] = w.Worker
	}
	sourcetest.WaitUntil(t, d, what, cond, ws...)
}

// leaseRow is a lease as the table holds it.
type leaseRow struct {
	Owner      string
	Counter    int64
	Checkpoint string
	Sub        int64
	Parents    []string
	State      string // the runtime's checkpoint, with its event-time state
}

func (e *env) leases(t *testing.T, table string) map[string]leaseRow {
	t.Helper()
	rows, err := e.leaseRows(context.Background(), table)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func (e *env) leaseRows(ctx context.Context, table string) (map[string]leaseRow, error) {
	out, err := e.ddb.Scan(ctx, &dynamodb.ScanInput{TableName: &table, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, err
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
		if v, ok := it["weirCheckpoint"].(*ddbtypes.AttributeValueMemberS); ok {
			r.State = v.Value
		}
		rows[it["leaseKey"].(*ddbtypes.AttributeValueMemberS).Value] = r
	}
	return rows, nil
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
