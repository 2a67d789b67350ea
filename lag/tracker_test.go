package lag

import (
	"encoding/json"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/pipeline"
)

func testConfig() Config {
	return Config{Window: 30 * time.Second, Interval: 10 * time.Second, DrainCap: time.Hour, PartitionPoints: 1}
}

var (
	p0 = pipeline.Partition{Stream: "events", ID: "0"}
	p1 = pipeline.Partition{Stream: "events", ID: "1"}
	p2 = pipeline.Partition{Stream: "events", ID: "10"}
)

// feed observes rows every 10s from t0 for p.
func feed(tr *Tracker, p pipeline.Partition, rows ...row) {
	for _, s := range hist(10*time.Second, rows...) {
		tr.Observe(p, s)
	}
}

func newTestTracker(t *testing.T, now *time.Time) (*Tracker, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	tr, err := NewTracker(testConfig(), reg, func() time.Time { return *now })
	if err != nil {
		t.Fatal(err)
	}
	return tr, reg
}

func TestTrackerSnapshot(t *testing.T) {
	now := t0.Add(30 * time.Second)
	tr, _ := newTestTracker(t, &now)
	// p0 drains: 600 behind at the end, processing 30/s.
	feed(tr, p0, row{1000, 100, 100}, row{1100, 300, 400}, row{1200, 500, 700}, row{1300, 700, 1000})
	// p1 is stalled with 50 records behind.
	feed(tr, p1, row{50, 0, 0}, row{50, 0, 0}, row{50, 0, 0}, row{50, 0, 0})
	// p2 is caught up.
	feed(tr, p2, row{7, 7, 7})
	r := tr.Snapshot(now)
	if len(r.Partitions) != 3 || r.Partitions[0].Partition != p0 || r.Partitions[1].Partition != p1 || r.Partitions[2].Partition != p2 {
		t.Fatalf("partitions = %+v", r.Partitions)
	}
	a, b, c := r.Partitions[0], r.Partitions[1], r.Partitions[2]
	// p0: the newest processed offset is 1000, which End had reached at t0: 30s of time lag.
	if a.Records != 600 || a.Rate != 30 || a.DrainSeconds != 20 || a.Status != OK || a.Seconds != 30 || a.ArrivalRate != 10 {
		t.Fatalf("p0 = %+v", a)
	}
	if b.Records != 50 || b.Rate != 0 || !math.IsInf(b.DrainSeconds, 1) || b.Status != STALL || b.Seconds != 30 {
		t.Fatalf("p1 = %+v", b)
	}
	if c.Records != 0 || c.DrainSeconds != 0 || c.Seconds != 0 || c.Status != OK {
		t.Fatalf("p2 = %+v", c)
	}
	tot := r.Total
	if tot.Partitions != 3 || tot.RecordsSum != 650 || tot.RecordsMax != 600 || tot.SecondsMax != 30 ||
		!math.IsInf(tot.DrainSecondsMax, 1) || tot.ByStatus[OK] != 2 || tot.ByStatus[STALL] != 1 {
		t.Fatalf("total = %+v", tot)
	}
	b2, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`{"stream":"events","partition":"1","records":50,"seconds":30,"drain_seconds":null,"rate":0,"arrival_rate":0,"status":"STALL"}`,
		`"drain_seconds_max":null`, `"by_status":{"OK":2,"REWIND":0,"STALL":1,"STOP":0,"WARN":0}`, `"records_sum":650`,
	} {
		if !strings.Contains(string(b2), want) {
			t.Errorf("JSON %s lacks %s", b2, want)
		}
	}
}

func TestTrackerUnknowns(t *testing.T) {
	now := t0
	tr, _ := newTestTracker(t, &now)
	kin := pipeline.Partition{Stream: "s", ID: "shardId-000000000001"}
	tr.Observe(kin, Sample{Time: t0, End: Unknown, Committed: Unknown, Processed: 3, MillisBehind: 1500})
	r := tr.Snapshot(now)
	p := r.Partitions[0]
	if p.Records != Unknown || p.Seconds != 1.5 || !math.IsNaN(p.DrainSeconds) {
		t.Fatalf("kinesis partition = %+v", p)
	}
	if r.Total.RecordsSum != 0 || r.Total.SecondsMax != 1.5 || r.Total.DrainSecondsMax != 0 {
		t.Fatalf("total = %+v", r.Total)
	}
	b, _ := json.Marshal(p)
	if !strings.Contains(string(b), `"records":null,"seconds":1.5,"drain_seconds":null`) {
		t.Fatalf("JSON = %s", b)
	}
}

func TestTrackerPrometheus(t *testing.T) {
	now := t0.Add(30 * time.Second)
	tr, reg := newTestTracker(t, &now)
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
	// Idle: the aggregates are there, as zeros.
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP weir_lag_total_records Sum of the offset lag of the partitions this worker owns (absent while one has no offset lag: always on Kinesis).
# TYPE weir_lag_total_records gauge
weir_lag_total_records 0
`), "weir_lag_total_records"); err != nil {
		t.Fatal(err)
	}
	feed(tr, p0, row{1000, 100, 100}, row{1100, 300, 400}, row{1200, 500, 700}, row{1300, 700, 1000})
	feed(tr, p1, row{50, 0, 0}, row{50, 0, 0}, row{50, 0, 0}, row{50, 0, 0})
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP weir_lag_records Offset lag of an owned partition: end offset minus committed position (absent when the source has no end offset).
# TYPE weir_lag_records gauge
weir_lag_records{partition="0",stream="events"} 600
weir_lag_records{partition="1",stream="events"} 50
# HELP weir_lag_drain_seconds Estimated time to drain an owned partition's lag at its processing rate over the lag window; +Inf when nothing is processed.
# TYPE weir_lag_drain_seconds gauge
weir_lag_drain_seconds{partition="0",stream="events"} 20
weir_lag_drain_seconds{partition="1",stream="events"} +Inf
# HELP weir_lag_partitions Partitions this worker owns, by lag status.
# TYPE weir_lag_partitions gauge
weir_lag_partitions{status="OK"} 1
weir_lag_partitions{status="REWIND"} 0
weir_lag_partitions{status="STALL"} 1
weir_lag_partitions{status="STOP"} 0
weir_lag_partitions{status="WARN"} 0
`), "weir_lag_records", "weir_lag_drain_seconds", "weir_lag_partitions"); err != nil {
		t.Fatal(err)
	}
	// Time lag grows between samples: a scrape 5s later sees 5s more.
	now = now.Add(5 * time.Second)
	if got := metrictest.Sum(t, reg, "weir_lag_seconds", map[string]string{"partition": "1"}); got != 35 {
		t.Fatalf("weir_lag_seconds{partition=1} = %v, want 35", got)
	}
	if got := metrictest.Sum(t, reg, "weir_lag_status", map[string]string{"partition": "1", "status": "STALL"}); got != 1 {
		t.Fatalf("STALL status series = %v", got)
	}
	// Revoked: every series of p1 is gone from the next gather, the aggregates follow.
	tr.Forget(p1)
	for _, name := range metrictest.Labelled(t, reg, "partition", "1") {
		t.Errorf("%s still has a series for the forgotten partition", name)
	}
	if got := metrictest.Sum(t, reg, "weir_lag_total_records", nil); got != 600 {
		t.Fatalf("total after forget = %v, want 600", got)
	}
}

// TestTrackerConcurrent runs sources, a revoking rebalance, scrapes and snapshots at once;
// it proves nothing without -race.
func TestTrackerConcurrent(t *testing.T) {
	reg := prometheus.NewRegistry()
	tr, err := NewTracker(testConfig(), reg, func() time.Time { return t0 })
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := pipeline.Partition{Stream: "events", ID: string(rune('0' + w))}
			for i := range 2000 {
				tr.Observe(p, Sample{Time: t0.Add(time.Duration(i) * time.Second), End: int64(2 * i),
					Committed: int64(i), Processed: int64(i), MillisBehind: Unknown})
				if i%500 == 0 {
					tr.Forget(p)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 200 {
			if _, err := reg.Gather(); err != nil {
				t.Error(err)
			}
			tr.Snapshot(t0)
		}
	}()
	wg.Wait()
	if n := len(tr.Snapshot(t0).Partitions); n != 4 {
		t.Fatalf("%d partitions tracked, want 4", n)
	}
}

func TestObserveDoesNotAllocate(t *testing.T) {
	tr, err := NewTracker(testConfig(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		i++
		tr.Observe(p0, Sample{Time: t0.Add(time.Duration(i) * time.Second), End: int64(i), Committed: 0,
			Processed: 0, MillisBehind: Unknown})
	})
	if allocs != 0 {
		t.Fatalf("Observe allocates %v times", allocs)
	}
}
