package kinesis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/lag"
	"github.com/weirstream/weir/pipeline"
)

// StreamAPI is the part of the Kinesis client the source uses (a *kinesis.Client satisfies
// it); tests wrap it to inject faults, or to read from another server than DynamoDB's.
type StreamAPI interface {
	DescribeStreamSummary(ctx context.Context, in *kinesis.DescribeStreamSummaryInput, optFns ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error)
	ListShards(ctx context.Context, in *kinesis.ListShardsInput, optFns ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
	GetShardIterator(ctx context.Context, in *kinesis.GetShardIteratorInput, optFns ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error)
}

// Option adjusts a Source at construction.
type Option func(*options)

type options struct {
	wraps     []func(StreamAPI) StreamAPI
	kinesisFn []func(*kinesis.Options)
	dynamoFn  []func(*dynamodb.Options)
}

// WithStreamAPI wraps the Kinesis client, e.g. to inject throttling in tests. Several wrap in
// the order given.
func WithStreamAPI(wrap func(StreamAPI) StreamAPI) Option {
	return func(o *options) { o.wraps = append(o.wraps, wrap) }
}

// WithEndpoints points the Kinesis and the DynamoDB (lease table) clients at endpoints of
// their own, over the AWS configuration's (the worker's aws.endpoints.kinesis and
// aws.endpoints.dynamodb: the stream on kinesalite, the table on moto). "" leaves a client as
// the configuration has it.
func WithEndpoints(kinesisURL, dynamodbURL string) Option {
	return func(o *options) {
		if kinesisURL != "" {
			o.kinesisFn = append(o.kinesisFn, func(ko *kinesis.Options) { ko.BaseEndpoint = &kinesisURL })
		}
		if dynamodbURL != "" {
			o.dynamoFn = append(o.dynamoFn, func(do *dynamodb.Options) { do.BaseEndpoint = &dynamodbURL })
		}
	}
}

// Source consumes one Kinesis stream as one worker of a fleet sharing a lease table.
//
// Concurrency: the renewer (renewer.go), the aggregator row's renewer (leader.go), the
// coordinator (take rounds, shard syncs), the checkpointer, one reader goroutine per held
// lease, and the runtime's Commit calls (from sink goroutines) share the held-lease table under
// mu; each lease's writes are serialised by its own held.wmu. mu is never held while calling
// into the runtime or AWS: the runtime calls Commit while holding its own per-partition lock.
type Source struct {
	cfg    Config
	region string // for messages about the stream
	kin    StreamAPI
	store  *leaseStore
	budget *pipeline.Budget
	log    *slog.Logger
	m      *metrics
	pm     *pipeline.Metrics
	rnd    *rand.Rand

	rt      pipeline.Assigner
	runCtx  context.Context
	wake    chan struct{} // a take round now (a shard ended, so its children may be ready)
	syncNow chan struct{} // a shard sync now (a shard ended: its children need leases)

	// leaseCtx lives from New to Close: leases are renewed and checkpointed while the runtime
	// drains after Run returned.
	leaseCtx  context.Context
	stopLease context.CancelFunc
	bg        sync.WaitGroup // renewers, coordinator and checkpointer
	coordDone chan struct{}  // closed when the coordinator returned (Run stopped)

	mu   sync.Mutex
	held map[string]*held
	// lastReader is the done channel of each shard's latest reader (see takeLease).
	lastReader map[string]chan struct{}
	stopping   bool           // Run is returning: no more readers start
	readers    sync.WaitGroup // reader goroutines still fetching: Run waits for them
	// leaving counts reader goroutines past fetching (a handover, a shard end, a lost lease's
	// revoke): Close waits for them, within its deadline.
	leaving sync.WaitGroup
	// leaveCtx bounds what leaving readers do; Close cancels it (abandonLeaving) when its own
	// context ends, so a handover under way cannot outlast the shutdown deadline.
	leaveCtx       context.Context
	abandonLeaving context.CancelFunc

	// lagTracker, once a lag sampler is attached, tracks a shard from the moment its lease is
	// taken (its lag unknown until its first GetRecords answers) to the moment it is no longer
	// held, so a shard just taken is never left out of the worker's lag.
	lagTracker *lag.Tracker

	ready readiness // what Ready reports from (health.go)

	foreignOnce sync.Once // the warning about checkpoints without weir's state
	// leader is the aggregator's row (leader.go).
	leader leadership
}

// New builds the source. It talks to AWS only when Run starts.
func New(_ context.Context, cfg Config, awsCfg aws.Config, budget *pipeline.Budget, reg prometheus.Registerer,
	pm *pipeline.Metrics, log *slog.Logger, opts ...Option) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	var kin StreamAPI = kinesis.NewFromConfig(awsCfg, o.kinesisFn...)
	for _, wrap := range o.wraps {
		kin = wrap(kin)
	}
	s := &Source{
		cfg:     cfg,
		region:  awsCfg.Region,
		kin:     kin,
		budget:  budget,
		log:     log.With("source", "kinesis", "stream", cfg.Stream, "worker", cfg.WorkerID),
		m:       newMetrics(reg),
		pm:      pm,
		rnd:     rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		wake:    make(chan struct{}, 1),
		syncNow: make(chan struct{}, 1),
		held:    make(map[string]*held),

		lastReader: make(map[string]chan struct{}),
	}
	s.store = &leaseStore{db: dynamodb.NewFromConfig(awsCfg, o.dynamoFn...), table: cfg.LeaseTable, stream: cfg.Stream, retry: cfg.Retry,
		onErr: func(op, reason string) { s.m.apiErrors.WithLabelValues(op, reason).Inc() }}
	s.leaseCtx, s.stopLease = context.WithCancel(context.Background())
	s.leaveCtx, s.abandonLeaving = context.WithCancel(context.Background())
	return s, nil
}

// Run takes leases and reads their shards until ctx ends, handing each shard's records to its
// runner. It returns once it has stopped fetching; leases stay held (and are renewed) until
// Close, so the caller closes the runtime (which commits the last durable positions) and then
// calls Close (which checkpoints them and releases the leases). A handover or a shard end
// under way goes on after Run returned, within Close's deadline.
//
// Before anything else it checks the stream and the lease table (startup.go): a stream that
// does not exist, or a table that cannot be reached or created, ends Run with an error
// (within startupTimeout), and nothing is created for a stream that does not exist.
func (s *Source) Run(ctx context.Context, rt pipeline.Assigner) error {
	if err := s.checkStream(ctx); err != nil {
		return err
	}
	if err := s.ensureTable(ctx); err != nil {
		return err
	}
	s.ready.started.Store(true)
	s.rt, s.runCtx = rt, ctx
	// Not fatal if it fails: the coordinator retries, and leases that exist can be read
	// meanwhile.
	s.syncOnce(ctx)
	s.coordDone = make(chan struct{})
	s.bg.Add(4)
	go func() { defer s.bg.Done(); s.renewLoop() }()
	go func() { defer s.bg.Done(); s.leaderLoop() }()
	go func() { defer s.bg.Done(); s.coordinate() }()
	go func() { defer s.bg.Done(); s.checkpointLoop() }()
	<-ctx.Done()
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	s.readers.Wait()
	return nil
}

// Close writes the final checkpoint of every lease still held and releases it, so the next
// owner takes over at once instead of after LeaseDuration. Call it after Run returned and the
// runtime closed (so every durable position has been committed). The releases run in parallel
// and renewals go on until they are done: a lease that expired while its turn came would be
// taken (and partly re-read) by another worker. With an expired ctx the leases are left to
// expire, as after a crash.
//
// A handover or a shard end still under way (its drain, its last write) finishes within ctx
// too: when ctx ends it is abandoned (its lease left to expire, its checkpoint where the last
// write that held left it), so Close returns by ctx's deadline whatever the partial store or
// DynamoDB do (plus the moment the abandoned calls take to return).
func (s *Source) Close(ctx context.Context) error {
	stop := context.AfterFunc(ctx, s.abandonLeaving)
	defer stop()
	var hs []*held
	for _, h := range s.heldLeases() {
		if !h.leaving.Load() { // a leaving reader writes its lease's end itself
			hs = append(hs, h)
		}
	}
	errs := make([]error, len(hs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16) // bounded: a worker may hold hundreds of leases
	for i, h := range hs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := s.releaseLease(ctx, h); err != nil {
				errs[i] = fmt.Errorf("releasing lease %s: %w", h.shard, err)
				s.log.Warn("lease not released; it expires after lease_duration and its next owner resumes at the last checkpoint written",
					"shard", h.shard, "lease_duration", s.cfg.LeaseDuration, "err", err)
			}
		}()
	}
	wg.Wait()
	s.leaving.Wait()
	s.stopLease()
	s.abandonLeaving()
	s.bg.Wait()
	return errors.Join(errs...)
}

// Partitions lists the stream's shards the fleet's aggregator waits for: every shard with a
// lease in the table that is not read to its end, children whose parents are still being read
// included (they deliver once their parents ended). A shard at SHARD_END made its partials
// durable before it got there (its last one marked Ended), or was never to be read (a start
// at latest): either way there is nothing more to wait for.
func (s *Source) Partitions(ctx context.Context) ([]pipeline.Partition, error) {
	leases, err := s.store.list(ctx)
	if err != nil {
		return nil, err
	}
	var out []pipeline.Partition
	for _, l := range leases {
		if !l.finished() {
			out = append(out, s.partition(l.Shard))
		}
	}
	return out, nil
}

// Lag returns the largest MillisBehindLatest of the shards this worker reads, and whether it
// is known for every one of them. A shard whose first GetRecords has not answered yet (a lease
// just taken, a throttled or slow first read) has no reading: it is left out of d and makes
// known false, because it may be the shard furthest behind. A rule sizing on this lag needs
// the two apart: d proves the worker at least that far behind (enough to scale out on), and
// only a known d proves it no further behind (what a scale-in or an all-clear needs); 0 with
// known false is "not read yet", never "caught up". With no shard held it is 0, known.
func (s *Source) Lag() (d time.Duration, known bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var most int64
	known = true
	for _, h := range s.held {
		if h.gone.Load() {
			continue
		}
		ms, ok := h.behind.millis()
		if !ok {
			known = false
			continue
		}
		most = max(most, ms)
	}
	return time.Duration(most) * time.Millisecond, known
}

// MillisBehind returns the MillisBehindLatest of the last GetRecords of p and when that call
// was answered: what this worker's load report says of the shard (the fleet's sizing derives
// the shard's rate and backlog from it). ok is false when this worker does not read p, and
// when it does but the shard's first GetRecords has not answered yet: there is no reading
// then, and 0 would read as caught up.
func (s *Source) MillisBehind(p pipeline.Partition) (int64, time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.held[p.ID]
	if !ok || h.part != p || h.gone.Load() {
		return 0, time.Time{}, false
	}
	return h.behind.get()
}

// Held returns the shard ids whose leases this worker holds now (for the live summary and
// tests).
func (s *Source) Held() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.held))
	for id := range s.held {
		out = append(out, id)
	}
	return out
}

func (s *Source) partition(shard string) pipeline.Partition {
	return pipeline.Partition{Stream: s.cfg.Stream, ID: shard}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
