package kafka_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/sources/kafka"
)

// Every record produced is counted exactly once in the window of its timestamp, per partition,
// and after a graceful stop the group's committed offsets are the end offsets.
func TestEndToEndExactCountsAndCommits(t *testing.T) {
	const parts, n = 8, 2000
	c := newCluster(t, parts)
	produce(t, c.ListenAddrs(), parts, n, 2*time.Millisecond) // 4 windows of 1s, 500 records each
	st := newStore()
	w := startWorker(t, c.ListenAddrs(), "e2e", st, workerOpts{})
	waitUntil(t, 20*time.Second, "every record durable", func() bool { return st.total() == parts*n }, w)
	w.stop(t)

	for i := range 4 {
		ws := t0.Add(time.Duration(i) * time.Second)
		for p := range parts {
			if got := st.perWindow[ws][itoa(p)]; got != 500 {
				t.Errorf("window %v partition %d: %d records, want 500", ws.Format(time.TimeOnly), p, got)
			}
		}
	}
	for p, m := range st.counts {
		for off, k := range m {
			if k != 1 {
				t.Errorf("partition %s offset %d counted %d times", p, off, k)
			}
		}
	}
	committed := committedOffsets(t, c.ListenAddrs(), "e2e")
	for p := range parts {
		if committed[itoa(p)] != n {
			t.Errorf("partition %d committed %d, want %d", p, committed[itoa(p)], n)
		}
	}
	problems, err := testutil.GatherAndLint(w.reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("metric %s: %s", p.Metric, p.Text)
	}
}

// A worker killed mid-stream (nothing flushed, nothing more committed) never left a committed
// offset ahead of a durable output, and its replacement counts every record at least once.
func TestCrashMidStreamLosesNothing(t *testing.T) {
	const parts, n = 8, 3000
	c := newCluster(t, parts)
	produce(t, c.ListenAddrs(), parts, n, 2*time.Millisecond)
	st := newStore()
	a := startWorker(t, c.ListenAddrs(), "crash", st, workerOpts{})
	waitUntil(t, 20*time.Second, "some windows durable and committed", func() bool {
		for _, off := range committedOffsets(t, c.ListenAddrs(), "crash") {
			if off > 0 {
				return true
			}
		}
		return false
	})
	a.crash(t)

	committed := committedOffsets(t, c.ListenAddrs(), "crash")
	_, prefix := st.covered()
	anyCommitted := false
	for _, p := range sortedKeys(committed) {
		if committed[p] > prefix[p] {
			t.Errorf("partition %s: committed offset %d is ahead of the durable prefix %d", p, committed[p], prefix[p])
		}
		if committed[p] > 0 {
			anyCommitted = true
		}
	}
	if !anyCommitted {
		t.Error("nothing was committed before the crash; the test proves nothing")
	}

	b := startWorker(t, c.ListenAddrs(), "crash", st, workerOpts{})
	waitUntil(t, 30*time.Second, "every record durable after restart", func() bool { return st.total() == parts*n })
	b.stop(t)
	committed = committedOffsets(t, c.ListenAddrs(), "crash")
	for p := range parts {
		if committed[itoa(p)] != n {
			t.Errorf("partition %d committed %d after restart, want %d", p, committed[itoa(p)], n)
		}
	}
}

// Two workers share the group; one leaves and rejoins mid-stream. Nothing is lost, and a
// commit point for a partition the worker no longer owns is refused.
func TestRebalanceLosesNothingAndRefusesForeignCommits(t *testing.T) {
	const parts, n = 8, 2000
	c := newCluster(t, parts)
	addrs := c.ListenAddrs()
	produce(t, addrs, parts, n/2, 2*time.Millisecond)
	st := newStore()
	// The produced event times continue across the pause between the two halves, as if the
	// producer never paused; the idle timeout must cover that pause, or the second half would
	// rightly be late.
	o := workerOpts{idle: 3 * time.Second}
	a := startWorker(t, addrs, "rebal", st, o)
	b := startWorker(t, addrs, "rebal", st, o)
	waitUntil(t, 20*time.Second, "first half durable", func() bool { return st.total() >= parts*n/4 })
	b.stop(t) // leaves: a takes every partition

	// b no longer owns anything: a commit point from it (a late ack) must not be committed.
	before := committedOffsets(t, addrs, "rebal")
	b.src.Commit(pipeline.Partition{Stream: topic, ID: "0"}, pipeline.Position{Offset: 1_000_000})
	if got := metrictest.Sum(t, b.reg, "weir_kafka_commits_rejected_total", map[string]string{"reason": "not_owned"}); got < 1 {
		t.Errorf("weir_kafka_commits_rejected_total{reason=not_owned} = %v, want >= 1", got)
	}

	b = startWorker(t, addrs, "rebal", st, o)
	produce2(t, addrs, parts, n/2, n/2)
	waitUntil(t, 30*time.Second, "every record durable", func() bool { return st.total() == parts*n })
	b.stop(t)
	a.stop(t)
	after := committedOffsets(t, addrs, "rebal")
	for p := range parts {
		if after[itoa(p)] != n {
			t.Errorf("partition %d committed %d, want %d (before the foreign commit: %d)", p, after[itoa(p)], n, before[itoa(p)])
		}
	}
}

// A sink that stalls pauses consumption: in-flight bytes stay within the budget (plus the one
// fetch charged after the fact) and everything completes once the sink resumes.
func TestStalledSinkPausesSourceWithinBudget(t *testing.T) {
	const parts, n = 8, 6000
	c := newCluster(t, parts)
	produce(t, c.ListenAddrs(), parts, n, 2*time.Millisecond)
	st := newStore()
	st.gate = make(chan struct{})
	const budget = 2 << 20
	w := startWorker(t, c.ListenAddrs(), "stall", st, workerOpts{budget: budget})
	var peak int64
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		peak = max(peak, w.budget.InUse())
		time.Sleep(2 * time.Millisecond)
	}
	// One fetch per broker may be charged after the fact: 1 MiB of payload (budget/32 clamped
	// to the 1 MiB minimum) plus each record's struct overhead (~63-byte test records).
	const fetchMax, brokers, recordBytes = 1 << 20, 3, 63
	allowance := int64(brokers * fetchMax * (recordBytes + kafka.RecordOverhead) / recordBytes)
	if peak > budget+allowance {
		t.Errorf("in-flight bytes peaked at %d with a stalled sink; budget %d + one fetch per broker %d", peak, budget, allowance)
	}
	if peak == 0 {
		t.Error("nothing was fetched; the test proves nothing")
	}
	paused := metrictest.Sum(t, w.reg, "weir_kafka_paused_partitions", nil) + metrictest.Sum(t, w.reg, "weir_kafka_budget_waits_total", nil)
	if paused == 0 {
		t.Error("the source neither paused a partition nor waited for the budget while the sink stalled")
	}
	if st.total() != 0 {
		t.Errorf("%d records durable through a stalled sink", st.total())
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("stalled: peak in-flight %d bytes (budget %d); heap in use %d bytes, including the in-process broker's %d records",
		peak, budget, ms.HeapInuse, parts*n)
	close(st.gate)
	waitUntil(t, 30*time.Second, "every record durable after the sink resumed", func() bool { return st.total() == parts*n }, w)
	w.stop(t)
	t.Logf("peak in-flight %d bytes with a %d-byte budget", peak, budget)
}

// One hot partition among idle ones, drained by a runner slower than its fetches: the source
// waits for the busy runner instead of pausing the partition. A paused partition is left out of
// the next fetch, and with every other partition of its broker caught up that fetch waits out
// the whole fetch max wait before the partition can be fetched again: the hot partition was
// read in bursts a fetch max wait apart (~100 ms gaps at the default).
func TestBusyRunnerDoesNotPauseHotPartition(t *testing.T) {
	const parts, n = 8, 20000
	c := newCluster(t, parts)
	// Small uncompressed producer batches, so that fetches are the source's size in records (a
	// batch comes whole, and the size caps count compressed bytes).
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchMaxBytes(16<<10), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n { // all in partition 0, all in one window
		r := &kgo.Record{Topic: topic, Partition: 0, Timestamp: t0.Add(time.Duration(i) * time.Microsecond),
			Value: fmt.Appendf(nil, `{"i":%d,"pad":"0123456789012345678901234567890123456789"}`, i)}
		cl.Produce(context.Background(), r, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Error(err)
			}
		})
	}
	if err := cl.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	cl.Close()

	st := newStore()
	// 50µs a record: the runner takes ~1600-record batches far slower than the client fetches
	// them, so its queue of 4 is full almost all the time. A one-second fetch max wait would
	// make every pause cost a second.
	w := startWorker(t, c.ListenAddrs(), "hot", st, workerOpts{fetchMaxWait: time.Second, recordCost: 50 * time.Microsecond})
	waitUntil(t, 60*time.Second, "every record durable", func() bool { return st.total() == n }, w)
	pauses := metrictest.Sum(t, w.reg, "weir_kafka_pauses_total", map[string]string{"reason": "runner"})
	w.stop(t)
	if pauses != 0 {
		t.Errorf("the hot partition was paused %v times for a runner that was only busy", pauses)
	}
}
