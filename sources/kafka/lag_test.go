package kafka_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/lag"
	"github.com/weirstream/weir/sources/kafka"
)

// clock is a settable wall clock shared by a poller and its tracker.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// produceTo appends n records to one partition.
func produceTo(t *testing.T, addrs []string, partition int32, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	rs := make([]*kgo.Record, n)
	for i := range rs {
		rs[i] = &kgo.Record{Topic: topic, Partition: partition, Timestamp: t0, Value: []byte(`{}`)}
	}
	if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// commitOffsets commits offsets for group as another member would have.
func commitOffsets(t *testing.T, addrs []string, group string, at map[int32]int64) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var offs kadm.Offsets
	for p, o := range at {
		offs.AddOffset(topic, p, o, -1)
	}
	if err := kadm.NewClient(cl).CommitAllOffsets(context.Background(), group, offs); err != nil {
		t.Fatal(err)
	}
}

// newLagPoller builds a tracker registered on the worker's registry and a poller on its source.
func newLagPoller(t *testing.T, w *worker, c *clock) (*lag.Tracker, *kafka.LagPoller) {
	t.Helper()
	cfg := lag.DefaultConfig()
	cfg.Window, cfg.Interval = 30*time.Second, 10*time.Second
	tr, err := lag.NewTracker(cfg, w.Reg, c.now)
	if err != nil {
		t.Fatal(err)
	}
	return tr, w.src.NewLagPoller(tr, c.now)
}

func poll(t *testing.T, p *kafka.LagPoller) {
	t.Helper()
	if err := p.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// Offset lag is exact against scripted broker states: a commit made before the worker joined,
// a partition never committed (lag from the log start), records appended later, and the
// worker's own commits once its sink lets windows become durable.
func TestLagPollerExactOffsets(t *testing.T) {
	const group = "lag-exact"
	c := newCluster(t, 2)
	addrs := c.ListenAddrs()
	produceTo(t, addrs, 0, 100)
	produceTo(t, addrs, 1, 40)
	// The group committed partition 0 up to 30 in an earlier life; partition 1 never.
	commitOffsets(t, addrs, group, map[int32]int64{0: 30})

	st := newStore()
	st.Stall(true) // nothing becomes durable, so the worker commits nothing
	w := startWorker(t, addrs, group, st, workerOpts{})
	clk := &clock{t: t0.Add(time.Hour)}
	tr, p := newLagPoller(t, w, clk)
	waitUntil(t, 20*time.Second, "the backlog dispatched", func() bool { return w.RT.Stats().Records == 70+40 }, w)

	poll(t, p)
	r := tr.Snapshot(clk.now())
	if len(r.Partitions) != 2 {
		t.Fatalf("tracked %+v", r.Partitions)
	}
	want := map[string]int64{"0": 100 - 30, "1": 40 - 0}
	for _, pl := range r.Partitions {
		if pl.Records != want[pl.Partition.ID] || pl.Seconds != 0 || pl.Status != lag.OK {
			t.Errorf("partition %s: %+v, want %d records behind the commit, 0s (everything processed)", pl.Partition.ID, pl, want[pl.Partition.ID])
		}
	}
	if r.Total.RecordsSum != 110 || r.Total.RecordsMax != 70 {
		t.Fatalf("total %+v", r.Total)
	}

	// 25 more records on partition 0, 10s later: 25 more behind, arriving at 2.5/s.
	produceTo(t, addrs, 0, 25)
	clk.add(10 * time.Second)
	poll(t, p)
	r = tr.Snapshot(clk.now())
	if r.Partitions[0].Records != 95 || r.Partitions[0].ArrivalRate != 2.5 {
		t.Fatalf("after producing: %+v", r.Partitions[0])
	}
	if got := metrictest.Sum(t, w.Reg, "weir_lag_total_records", nil); got != 135 {
		t.Fatalf("weir_lag_total_records = %v, want 135", got)
	}

	// Let windows become durable: the worker commits everything, and the lag goes to 0.
	st.Stall(false)
	waitUntil(t, 20*time.Second, "lag 0 after the commits", func() bool {
		clk.add(10 * time.Second)
		poll(t, p)
		return tr.Snapshot(clk.now()).Total.RecordsSum == 0
	}, w)
	w.Stop(t)
}

// When a second member joins, the partitions moved to it disappear from the first member's
// metrics at its next poll (no stale series left to be summed with the new owner's), and
// between them the two members report every partition exactly once.
func TestLagPollerForgetsRevokedPartitions(t *testing.T) {
	const group, parts = "lag-rebalance", 4
	c := newCluster(t, parts)
	addrs := c.ListenAddrs()
	for p := range int32(parts) {
		produceTo(t, addrs, p, 10*int(p+1))
	}
	clk := &clock{t: t0}
	a := startWorker(t, addrs, group, newStore(), workerOpts{})
	trA, pa := newLagPoller(t, a, clk)
	owned := func(tr *lag.Tracker) map[string]bool {
		out := map[string]bool{}
		for _, pl := range tr.Snapshot(clk.now()).Partitions {
			out[pl.Partition.ID] = true
		}
		return out
	}
	waitUntil(t, 20*time.Second, "a owns every partition", func() bool {
		poll(t, pa)
		return len(owned(trA)) == parts
	}, a)

	b := startWorker(t, addrs, group, newStore(), workerOpts{})
	trB, pb := newLagPoller(t, b, clk)
	waitUntil(t, 30*time.Second, "the partitions split between a and b", func() bool {
		clk.add(time.Second)
		poll(t, pa)
		poll(t, pb)
		oa, ob := owned(trA), owned(trB)
		return len(oa) > 0 && len(ob) > 0 && len(oa)+len(ob) == parts
	}, a, b)
	oa, ob := owned(trA), owned(trB)
	for id := range ob {
		if oa[id] {
			t.Fatalf("partition %s tracked by both: a %v, b %v", id, oa, ob)
		}
	}
	// a's registry has no series at all for b's partitions.
	for id := range ob {
		for _, name := range metrictest.Labelled(t, a.Reg, "partition", id) {
			if strings.HasPrefix(name, "weir_lag_") {
				t.Errorf("a still exports %s for partition %s, now b's", name, id)
			}
		}
	}
	if problems, err := testutil.GatherAndLint(a.Reg); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
	b.Stop(t)
	a.Stop(t)
}

// A partition is tracked from its assignment, its lag unknown until the poller's next round:
// before, it was left out of the tracker until then, and the worker's lag aggregates (the
// Prometheus gauges, the CloudWatch lag points) covered only the partitions it already had,
// as if the one just assigned, 100 records behind, had nothing to read.
func TestLagTrackedFromAssignment(t *testing.T) {
	const group = "lag-assigned"
	c := newCluster(t, 2)
	addrs := c.ListenAddrs()
	produceTo(t, addrs, 0, 100)
	clk := &clock{t: t0}
	cfg := lag.DefaultConfig()
	cfg.Window, cfg.Interval = 30*time.Second, 10*time.Second
	tr, err := lag.NewTracker(cfg, nil, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	var p *kafka.LagPoller
	st := newStore()
	st.Stall(true) // nothing committed: the lag stays the backlog
	w := startWorker(t, addrs, group, st, workerOpts{built: func(s *kafka.Source) { p = s.NewLagPoller(tr, clk.now) }})
	defer func() {
		st.Stall(false)
		w.Stop(t)
	}()
	waitUntil(t, 20*time.Second, "both partitions tracked before any poll", func() bool {
		return tr.Snapshot(clk.now()).Total.Partitions == 2
	}, w)
	if tot := tr.Snapshot(clk.now()).Total; tot.Unknown != 2 || tot.RecordsComplete() || tot.SecondsComplete() {
		t.Errorf("total %+v before the first poll: want both partitions, their lag unknown", tot)
	}
	poll(t, p)
	if tot := tr.Snapshot(clk.now()).Total; tot.Unknown != 0 || !tot.RecordsComplete() || tot.RecordsSum != 100 {
		t.Errorf("total %+v after the first poll: want 100 records behind, known", tot)
	}
}
