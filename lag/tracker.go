package lag

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/pipeline"
)

// Tracker holds the lag history of every partition this worker owns. Sources Observe it from
// their own goroutines and Forget a partition when they lose it; the Prometheus collector
// and the Analyzer read Snapshots. All methods are safe for concurrent use and hold
// one mutex for a few microseconds (a History is a few dozen samples); none blocks on I/O.
type Tracker struct {
	cfg   Config
	now   func() time.Time
	mu    sync.Mutex
	parts map[pipeline.Partition]History
}

// NewTracker validates cfg and registers the lag metrics with reg (nil registers nothing).
// now is the clock for the Prometheus collector's snapshots; nil means time.Now.
func NewTracker(cfg Config, reg prometheus.Registerer, now func() time.Time) (*Tracker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	t := &Tracker{cfg: cfg, now: now, parts: make(map[pipeline.Partition]History)}
	if reg != nil {
		if err := reg.Register(newCollector(t)); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Config returns the tracker's configuration (the sources read Interval from it).
func (t *Tracker) Config() Config { return t.cfg }

// Observe records a sample of p. A partition is tracked from its first sample until Forget.
// Samples older than p's newest are ignored. It does not allocate once p's history is full.
func (t *Tracker) Observe(p pipeline.Partition, s Sample) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h, ok := t.parts[p]
	if !ok {
		h = make(History, 0, t.cfg.capacity())
	}
	t.parts[p] = h.push(s, t.cfg)
}

// Track starts tracking p before its first sample, when the source takes it (a Kafka
// assignment, a Kinesis lease): p is counted from then on, its lag unknown until a sample comes
// (Aggregate.Unknown), instead of being left out of the worker's aggregates until the next
// sampling round, which would make a worker that just took a partition with a backlog look
// caught up on it. A p already tracked is left as it is.
func (t *Tracker) Track(p pipeline.Partition) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.parts[p]; !ok {
		t.parts[p] = make(History, 0, t.cfg.capacity())
	}
}

// Forget stops tracking p, on revoke or lost lease: its series disappear from the next scrape
// and from every later Snapshot, so no stale lag of a partition another worker now owns is
// ever summed with that worker's.
func (t *Tracker) Forget(p pipeline.Partition) {
	t.mu.Lock()
	delete(t.parts, p)
	t.mu.Unlock()
}

// Tracked reports whether p is tracked (for sources reconciling their owned set).
func (t *Tracker) Tracked(p pipeline.Partition) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.parts[p]
	return ok
}

// Snapshot evaluates every tracked partition at now, sorted by stream and partition id.
func (t *Tracker) Snapshot(now time.Time) Report {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := Report{Partitions: make([]PartitionLag, 0, len(t.parts))}
	for p, h := range t.parts {
		pl := evaluate(p, h, now, t.cfg)
		r.Partitions = append(r.Partitions, pl)
		r.Total.add(pl)
	}
	slices.SortFunc(r.Partitions, func(a, b PartitionLag) int {
		return cmp.Or(cmp.Compare(a.Partition.Stream, b.Partition.Stream), comparePartitionID(a.Partition.ID, b.Partition.ID))
	})
	return r
}

func evaluate(p pipeline.Partition, h History, now time.Time, cfg Config) PartitionLag {
	pl := PartitionLag{Partition: p, Records: Unknown, Seconds: math.NaN(), DrainSeconds: math.NaN()}
	if len(h) == 0 {
		return pl
	}
	pl.Records = OffsetLag(h.newest())
	if d, ok := TimeLag(h, now); ok {
		pl.Seconds = d.Seconds()
	}
	pl.Rate = Rate(h)
	pl.ArrivalRate = ArrivalRate(h)
	if pl.Records != Unknown {
		pl.DrainSeconds = Drain(pl.Records, pl.Rate)
	}
	pl.Status = Evaluate(h, cfg.Window)
	return pl
}

// comparePartitionID orders Kafka partition numbers numerically ("2" before "10") and
// anything else (Kinesis shard ids, fixed width) as strings.
func comparePartitionID(a, b string) int {
	if len(a) != len(b) && isDigits(a) && isDigits(b) {
		return cmp.Compare(len(a), len(b))
	}
	return cmp.Compare(a, b)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
