package load_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/weirstream/weir/load"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/sinks/file"
)

var (
	t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	p0 = pipeline.Partition{Stream: "orders", ID: "shardId-000000000000"}
	p1 = pipeline.Partition{Stream: "orders", ID: "shardId-000000000001"}
	p2 = pipeline.Partition{Stream: "orders", ID: "shardId-000000000002"}
)

// scripted is a worker's totals and CPU clock, set by the test between ticks.
type scripted struct {
	c     load.Counters
	cpu   time.Duration
	cpuOK bool
}

func (s *scripted) counters() load.Counters { return s.c }
func (s *scripted) readCPU() (time.Duration, bool) {
	return s.cpu, s.cpuOK
}

// readBack lists and decodes the period's reports from the store, as the aggregator does.
func readBack(t *testing.T, st *file.PartialStore, start time.Time) map[string]*load.Report {
	t.Helper()
	out := map[string]*load.Report{}
	var workers []string
	if err := st.ListLoads(context.Background(), start, func(w string) bool { workers = append(workers, w); return true }); err != nil {
		t.Fatal(err)
	}
	for _, w := range workers {
		b, err := st.ReadLoad(context.Background(), start, w)
		if err != nil {
			t.Fatal(err)
		}
		if out[w], err = load.Decode(b); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// The writer reports each period's differences, files them under the period's start, and
// tells a partition owned throughout from one taken (or taken again) during the period.
func TestWriterReportsEachPeriod(t *testing.T) {
	fs, err := file.New(file.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	st := fs.PartialStore()
	reg := prometheus.NewPedanticRegistry()
	s := &scripted{cpuOK: true, cpu: 10 * time.Second}
	w := &load.Writer{Worker: "task-a", Period: time.Minute, VCPUs: 2, Store: st, Counters: s.counters,
		CPU: s.readCPU, Metrics: load.NewMetrics(reg)}

	// The worker started at 12:00:20 owning p0 (since 12:00:05, 500 records so far).
	s.c = load.Counters{Records: 500, Partitions: []load.PartitionCounters{
		{Partition: p0, Since: t0.Add(5 * time.Second), Records: 500, MillisBehind: 4000}}}
	w.Begin(t0.Add(20 * time.Second))

	// 12:01:00: p0 processed 3000 more; p1 taken at 12:00:45 with 1000 records; 20 s of CPU.
	s.c = load.Counters{Records: 4500, Partitions: []load.PartitionCounters{
		{Partition: p0, Since: t0.Add(5 * time.Second), Records: 3500, MillisBehind: 1000},
		{Partition: p1, Since: t0.Add(45 * time.Second), Records: 1000, MillisBehind: 0}}}
	s.cpu += 20 * time.Second
	r, err := w.Tick(context.Background(), t0.Add(time.Minute+30*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	got := readBack(t, st, t0)["task-a"]
	if got == nil {
		t.Fatalf("no report under %v; the writer returned %+v", t0, r)
	}
	if got.Start != t0.UnixNano() || !near(got.Seconds, 40.03) || got.VCPUs != 2 || got.Records != 4000 || !near(got.CPUSeconds, 20) {
		t.Errorf("first report %+v", got)
	}
	want := []load.Partition{
		{Stream: "orders", ID: p0.ID, Records: 3000, Seconds: 40.03, MillisBehindStart: 4000, MillisBehind: 1000},
		{Stream: "orders", ID: p1.ID, Records: 1000, Seconds: 15.03, MillisBehindStart: load.Unknown, MillisBehind: 0},
	}
	checkPartitions(t, got.Partitions, want)

	// 12:02:00: p0 revoked; p1 revoked and taken again at 12:01:50 (its count started over,
	// at 200: more than nothing, less than before); p2 taken at 12:01:30 (Kafka: no
	// MillisBehind); the CPU clock is unavailable.
	s.c = load.Counters{Records: 9000, Partitions: []load.PartitionCounters{
		{Partition: p1, Since: t0.Add(110 * time.Second), Records: 200, MillisBehind: 0},
		{Partition: p2, Since: t0.Add(90 * time.Second), Records: 700, MillisBehind: load.Unknown}}}
	s.cpuOK = false
	if _, err := w.Tick(context.Background(), t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	got = readBack(t, st, t0.Add(time.Minute))["task-a"]
	if got == nil || got.Records != 4500 || got.CPUSeconds != -1 || !near(got.Seconds, 59.97) {
		t.Fatalf("second report %+v", got)
	}
	checkPartitions(t, got.Partitions, []load.Partition{
		{Stream: "orders", ID: p1.ID, Records: 200, Seconds: 10, MillisBehindStart: load.Unknown, MillisBehind: 0},
		{Stream: "orders", ID: p2.ID, Records: 700, Seconds: 30, MillisBehindStart: load.Unknown, MillisBehind: load.Unknown},
	})
	if last, ok := w.Last(); !ok || last.Records != 4500 {
		t.Errorf("Last = %+v, %v", last, ok)
	}

	// The CPU clock back: the next report has none to difference against yet.
	s.cpuOK = true
	if r, _ := w.Tick(context.Background(), t0.Add(3*time.Minute)); r.CPUSeconds != -1 {
		t.Errorf("CPU measured against an unknown baseline: %v", r.CPUSeconds)
	}
	s.cpu += 30 * time.Second
	if r, _ := w.Tick(context.Background(), t0.Add(4*time.Minute)); !near(r.CPUSeconds, 30) {
		t.Errorf("CPU seconds %v, want 30", r.CPUSeconds)
	}
	if got := testutil.ToFloat64(w.Metrics.Utilization()); !near(got, 30.0/60/2) {
		t.Errorf("utilization gauge %v, want %v", got, 30.0/60/2)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func checkPartitions(t *testing.T, got, want []load.Partition) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("partitions %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Stream != w.Stream || g.ID != w.ID || g.Records != w.Records || !near(g.Seconds, w.Seconds) ||
			g.MillisBehind != w.MillisBehind || g.MillisBehindStart != w.MillisBehindStart {
			t.Errorf("partition %d = %+v, want %+v", i, g, w)
		}
	}
}

type failingStore struct{ err error }

func (f failingStore) WriteLoad(context.Context, time.Time, string, []byte) error { return f.err }

// A report the store refuses is counted and returned; the next period is reported as usual.
func TestWriterCountsFailedWrites(t *testing.T) {
	m := load.NewMetrics(prometheus.NewRegistry())
	s := &scripted{cpuOK: true}
	w := &load.Writer{Worker: "task-a", Period: time.Minute, VCPUs: 1, Store: failingStore{errors.New("503 SlowDown")},
		Counters: s.counters, CPU: s.readCPU, Metrics: m}
	w.Begin(t0)
	if _, err := w.Tick(context.Background(), t0.Add(time.Minute)); err == nil {
		t.Fatal("a failed write was not reported")
	}
	w.Store = failingStore{}
	if _, err := w.Tick(context.Background(), t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if f, ok := testutil.ToFloat64(m.Reports("failed")), testutil.ToFloat64(m.Reports("written")); f != 1 || ok != 1 {
		t.Errorf("failed %v written %v, want 1 and 1", f, ok)
	}
}

// Run ticks on the period grid and stops with its context.
func TestWriterRun(t *testing.T) {
	fs, err := file.New(file.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	st := fs.PartialStore()
	s := &scripted{cpuOK: true}
	w := &load.Writer{Worker: "task-a", Period: time.Second, VCPUs: 1, Store: st, Counters: s.counters, CPU: s.readCPU}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	// Last is set as the report is built, before its write returns: wait for the store too.
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, ok := w.Last()
		if ok && len(readBack(t, st, time.Unix(0, r.Start))) == 1 {
			if r.Start%int64(time.Second) != 0 {
				t.Errorf("report start %v is not on the period grid", time.Unix(0, r.Start))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no report in the store within 10 s of a 1 s period (last built: %v %+v)", ok, r)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
	if err := (&load.Writer{Period: time.Second}).Run(context.Background()); err == nil {
		t.Error("a writer without store or counters ran")
	}
}

func near(a, b float64) bool { return a-b < 1e-6 && b-a < 1e-6 }
