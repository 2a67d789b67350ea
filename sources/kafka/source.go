// Package kafka is weir's Kafka source (Apache Kafka, Amazon MSK): a consumer group member that
// feeds each owned partition's records, in order, to the pipeline runtime, pauses partitions
// the runtime cannot keep up with, and commits only what every sink has made durable.
package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/lag"
	"github.com/weirstream/weir/pipeline"
)

// Source consumes a set of topics as one member of a consumer group.
//
// Concurrency: Run's poll loop, franz-go's group callbacks (assigned / revoked / lost) and the
// runtime's Commit calls (from sink goroutines) all touch the owned-partition table under mu.
// mu is never held while calling into the runtime, because the runtime calls Commit while
// holding its own per-partition lock (a Feed's non-blocking TrySend excepted). Each owned
// partition's flow control is its gate (gate.go), with a lock of its own taken after mu.
type Source struct {
	cfg     Config
	cl      *kgo.Client
	budget  *pipeline.Budget
	log     *slog.Logger
	m       *metrics
	pm      *pipeline.Metrics
	clock   *pipeline.StageClock
	rt      pipeline.Assigner
	rtReady chan struct{}
	// stopping is closed when Run's context ends: work in franz-go's callbacks that would wait
	// for the broker (an assignment retrying its checkpoints) gives up then. Their own context
	// ends only when the client closes, which Close does after Run has returned, while franz-go
	// holds Run's poll until the callback returns.
	stopping chan struct{}

	// slices recycles the []pipeline.Record of finished batches, so steady-state dispatch does
	// not allocate per record (a batch's slice is returned in its Done; see pools.go).
	slices *slicePool[pipeline.Record]
	// fetch holds franz-go's record and decompression slices (kgo.WithPools).
	fetch *fetchPools

	// Read and written only by Run's goroutine: batchesWaiting, some gate holds batches its
	// runner has not taken or holds its partition back (gate.retry); budgetPaused, the budget filled and usage has not yet fallen below
	// the level that resumes the partitions (see underBudget).
	batchesWaiting bool
	budgetPaused   bool

	// ready is what Ready reports from; fetchLog rate-limits the fetch errors' log (Run's
	// goroutine only).
	ready    readiness
	fetchLog fetchErrorLog

	mu    sync.Mutex
	owned map[tp]*owned
	// lagTracker, when a lag poller is attached, tracks a partition from its assignment (its
	// lag unknown until the poller's next round) and forgets it the moment it is revoked or
	// lost, so its lag series never outlive the ownership (stale series summed across workers
	// double-count).
	lagTracker *lag.Tracker

	commits     *committer
	leaderFn    func(held bool, token int64) // see WatchLeadership
	stopCommits context.CancelFunc
	commitsDone chan struct{}
	foreignOnce sync.Once // the warning about commits without weir's state
}

type tp struct {
	topic     string
	partition int32
}

// owned is the source's state for one partition it owns.
type owned struct {
	part     pipeline.Partition
	gate     *gate        // its flow control: pauses, batches waiting for the runner
	hwm      atomic.Int64 // the partition's high watermark as of the last fetch
	next     atomic.Int64 // the offset after the last record dispatched
	revoking bool
}

// New builds the client (it connects lazily, when Run starts polling).
func New(ctx context.Context, cfg Config, budget *pipeline.Budget, reg prometheus.Registerer,
	pm *pipeline.Metrics, log *slog.Logger, extra ...kgo.Opt) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Source{
		cfg:      cfg,
		budget:   budget,
		log:      log,
		m:        newMetrics(reg),
		pm:       pm,
		clock:    pm.StageClock("source"),
		rtReady:  make(chan struct{}),
		stopping: make(chan struct{}),
		owned:    make(map[tp]*owned),
		slices:   newSlicePool[pipeline.Record](poolSlices, budget.Limit()/poolShare),
		fetch:    newFetchPools(poolSlices, budget.Limit()/poolShare),
	}
	s.m.pooled(reg, s.PooledBytes)
	s.commits = newCommitter(s)
	start := kgo.NewOffset().AtStart()
	if cfg.Start == "latest" {
		start = kgo.NewOffset().AtEnd()
	}
	fetchMax, partMax := fetchSizes(cfg, budget.Limit())
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ClientID(cfg.ClientID),
		kgo.ConsumeTopics(cfg.Topics...),
		kgo.ConsumerGroup(cfg.Group),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.ConsumeResetOffset(start),
		kgo.FetchMaxWait(cfg.FetchMaxWait),
		kgo.FetchMaxBytes(fetchMax),
		kgo.FetchMaxPartitionBytes(partMax),
		kgo.SessionTimeout(cfg.SessionTimeout),
		kgo.RebalanceTimeout(cfg.RebalanceTimeout),
		// Only what the runtime says is durable is committed, with its checkpoint as metadata,
		// by weir's own committer (commit.go), and rebalance callbacks never run between a
		// poll and the dispatch of its records (BlockRebalanceOnPoll), so a revoked partition's
		// records are never handed to the runtime after its revoke.
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(s.onAssigned),
		kgo.OnPartitionsRevoked(s.onRevoked),
		kgo.OnPartitionsLost(s.onLost),
		kgo.WithHooks(&clientHooks{s: s}),
		kgo.WithPools(s.fetch),
	}
	auth, err := cfg.authOpts(ctx)
	if err != nil {
		return nil, err
	}
	opts = append(opts, auth...)
	opts = append(opts, extra...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	s.cl = cl
	return s, nil
}

// fetchSizes returns the fetch and per-partition response caps: the configured ones, or those
// derived from the in-flight budget (see Config.FetchMaxBytes and FetchMaxPartitionBytes).
func fetchSizes(cfg Config, budget int64) (fetchMax, partMax int32) {
	fetchMax = cfg.FetchMaxBytes
	if fetchMax == 0 {
		fetchMax = int32(min(max(budget/32, 1<<20), 50<<20))
	}
	partMax = cfg.FetchMaxPartitionBytes
	if partMax == 0 {
		partMax = min(max(fetchMax/16, 64<<10), 1<<20)
	}
	return fetchMax, partMax
}

// Commit implements pipeline.Committer: it records the checkpoint for the committer, which
// stores it promptly (commit.go). A commit point for a partition this member no longer owns is
// refused and counted: committing it could move the new owner's position (the data-loss bug of
// acks arriving after a revoke).
func (s *Source) Commit(p pipeline.Partition, c pipeline.Checkpoint) {
	n, err := strconv.ParseInt(p.ID, 10, 32)
	if err != nil {
		s.m.commitsRejected.WithLabelValues("bad_partition").Inc()
		return
	}
	key := tp{p.Stream, int32(n)}
	s.mu.Lock()
	_, ok := s.owned[key]
	s.mu.Unlock()
	if !ok {
		s.m.commitsRejected.WithLabelValues("not_owned").Inc()
		return
	}
	s.commits.set(key, c)
	s.m.commitsMarked.Inc()
}

// ownedSet returns the partitions owned now, those being revoked included: their commit on
// revoke is theirs to make until they are forgotten.
func (s *Source) ownedSet() map[tp]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[tp]bool, len(s.owned))
	for k := range s.owned {
		out[k] = true
	}
	return out
}

// Lag is how many records of the owned partitions the last fetches left unread (high
// watermark minus the next offset to dispatch, summed): the worker's own view of its consumer
// lag, for the live summary. A partition no fetch has returned records for yet counts 0 here,
// whatever its backlog: this is a view of the fetches, not a lag to size or alarm on. The lag
// tracker (weir_lag_*, the lag points) reports the group's committed lag, and counts a
// partition just assigned as unknown until its first sample.
func (s *Source) Lag() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, o := range s.owned {
		n += max(0, o.hwm.Load()-o.next.Load())
	}
	return n
}
