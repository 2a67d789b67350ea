package worker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/sinks/file/filetest"
)

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// The whole worker against a real (in-process) Kafka: every record lands in the file sink's
// window reports with exact counts per window and partition, undecodable records go to the
// dead-letter objects without stopping the stream, and a shutdown (SIGTERM) drains, commits
// every offset and returns within the deadline.
func TestWorkerEndToEndFilesDeadLettersAndDrain(t *testing.T) {
	const parts, n = 4, 1000
	c, cl := newTopic(t, parts)
	var recs []*kgo.Record
	for p := range int32(parts) {
		for i := range n {
			ts := t0.Add(time.Duration(i) * 10 * time.Millisecond) // 100 per 1s window
			recs = append(recs, &kgo.Record{Topic: "events", Partition: p,
				Value: fmt.Appendf(nil, `{"ts":%q,"tenant":"t-%d","status":200}`, ts.Format(time.RFC3339Nano), i%7)})
			if p == 0 && i%250 == 0 {
				recs = append(recs, &kgo.Record{Topic: "events", Partition: p, Value: []byte(`{"ts": not json`)})
			}
		}
	}
	recs = append(recs, &kgo.Record{Topic: "events", Partition: 1, Value: []byte(`{"ts":"yesterday-ish"}`)})
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	cfg := kafkaConfig(c, "e2e", dir)
	cfg.Window.TimeField, cfg.Window.AllowedLateness = "$.ts", 0
	cfg.Window.IdleTimeout = 300 * time.Millisecond
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.ShutdownTimeout = 10 * time.Second
	deps := testDeps()
	var stopped []string // Run's goroutine appends; read after Run returned
	deps.Hooks.Stopped = func(part string) { stopped = append(stopped, part) }
	w, stop := runWorker(t, cfg, deps)

	deadline := time.Now().Add(30 * time.Second)
	for w.Stats().Records < parts*n+5 || filetest.Records(t, dir) < parts*n {
		if time.Now().After(deadline) {
			t.Fatalf("processed %d records, %d in reports, after 30s", w.Stats().Records, filetest.Records(t, dir))
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopAt := time.Now()
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	if took := time.Since(stopAt); took > cfg.ShutdownTimeout {
		t.Errorf("drain took %v, over the %v deadline", took, cfg.ShutdownTimeout)
	}
	// The written shutdown order: fetching stops first, the pipeline makes its closed windows
	// durable, the aggregator merges them, the source commits, and the HTTP server (metrics and
	// health through the drain) goes last.
	order := []string{PartSource, PartScaling, PartLag, PartPipeline, PartAggregator, PartCommit, PartSummary, PartHealth, PartHTTP}
	if !slices.Equal(stopped, order) {
		t.Errorf("parts stopped in the order %q, want %q", stopped, order)
	}

	perWindow := filetest.ThroughputRecords(t, dir)
	for i := range n / 100 {
		ws := t0.Add(time.Duration(i) * time.Second).Format(time.RFC3339)
		for p := range parts {
			if got := perWindow[ws][fmt.Sprint(p)]; got != 100 {
				t.Errorf("window %s partition %d: %d records, want 100", ws, p, got)
			}
		}
	}
	reasons := filetest.DeadLetterReasons(t, dir)
	if reasons["decode"] != 4 || reasons["event_time"] != 1 {
		t.Errorf("dead letters by reason %v, want 4 decode and 1 event_time", reasons)
	}
	offs, err := kadm.NewClient(cl).FetchOffsets(context.Background(), "e2e")
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32]int64{0: n + 4, 1: n + 1, 2: n, 3: n}
	for p, end := range want {
		if o, _ := offs.Lookup("events", p); o.At != end {
			t.Errorf("partition %d committed %d, want %d (the end)", p, o.At, end)
		}
	}
	emf, err := os.ReadFile(filepath.Join(dir, "metrics.emf"))
	if err != nil || !strings.Contains(string(emf), `"Name":"Records"`) {
		t.Errorf("metrics.emf has no Records metric (err %v)", err)
	}
}

// A worker that cannot start (its HTTP port is taken) fails with the field named, and releases
// what it had already started (the embedded broker) instead of panicking.
func TestBuildFailureNamesTheFieldAndCleansUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := DefaultConfig()
	cfg.Sinks.File.Dir = t.TempDir()
	cfg.Sinks.CloudWatch.EMF.Path = filepath.Join(cfg.Sinks.File.Dir, "metrics.emf")
	cfg.HTTP.Addr = ln.Addr().String()
	cfg.Sinks.CloudWatch.ApplyDefaults()
	_, err = Build(context.Background(), cfg, testDeps())
	if err == nil || !strings.Contains(err.Error(), "http.addr") {
		t.Fatalf("got %v, want an error naming http.addr", err)
	}
}

// testConfig is a worker writing files and EMF lines under dir, with one-second windows, no
// HTTP server and no summary line; the caller sets the source.
func testConfig(dir string) Config {
	cfg := DefaultConfig()
	cfg.Window.Period = time.Second
	cfg.Sinks.File.Dir = dir
	cfg.Sinks.CloudWatch.EMF.Path = filepath.Join(dir, "metrics.emf")
	cfg.HTTP.Addr = ""
	cfg.Summary = "off"
	return cfg
}

// kafkaConfig is testConfig reading the topic "events" of c as group.
func kafkaConfig(c *kfake.Cluster, group, dir string) Config {
	cfg := testConfig(dir)
	cfg.Source.Kind = "kafka"
	cfg.Source.Kafka.Brokers, cfg.Source.Kafka.Topics, cfg.Source.Kafka.Group = c.ListenAddrs(), []string{"events"}, group
	return cfg
}

// runWorker builds a worker and runs it; stop cancels its context, as SIGTERM does, and returns
// Run's error once it has returned.
func runWorker(t *testing.T, cfg Config, deps Deps) (w *Assembly, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := Build(ctx, cfg, deps)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	return w, func() error {
		cancel()
		return <-done
	}
}

// testDeps are the dependencies of a worker under test: its log discarded, a fresh registry.
func testDeps() Deps {
	return Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: prometheus.NewRegistry()}
}

// newTopic starts a one-broker kfake cluster with an "events" topic of parts partitions, and a
// producing client that chooses partitions explicitly; both close with the test.
func newTopic(t *testing.T, parts int32) (*kfake.Cluster, *kgo.Client) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(parts, "events"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return c, cl
}
