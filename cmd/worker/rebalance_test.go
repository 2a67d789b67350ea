package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/internal/grouptest"
	"github.com/weirstream/weir/internal/workerproc"
)

// SIGTERM while a rebalance is in flight: the worker's JoinGroup waits at the coordinator for a
// member that does not rejoin (it holds the rebalance up to the rebalance timeout, 60s), and
// franz-go's Close waits for that JoinGroup before it leaves the group. The worker must still
// exit 0 within its shutdown_timeout, having committed what it made durable, and leave the group
// so the rebalance does not wait for it too. The records are stamped two minutes ago, and each
// partition's last one now: their windows close as soon as it is read, while its own window is
// still open at the SIGTERM (left to the next owner, not committed).
//
// Worker and broker run as processes of their own (the real binary; the broker is this test
// binary, see TestMain). The member holding the rebalance is this test, speaking the group
// protocol by hand: it joins, syncs, and then goes silent, as a member stalled in a long GC
// pause or a slow revoke would.
func TestSIGTERMDuringRebalanceExitsWithinBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the worker binary against a broker process")
	}
	const (
		group    = "rebalancing"
		budget   = 10 * time.Second // shutdown_timeout
		produced = 2000
	)
	bin := workerproc.Build(t, ".")
	addrs := startBroker(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic("events"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	var recs []*kgo.Record
	old := time.Now().Add(-2 * time.Minute)
	for i := range produced {
		recs = append(recs, &kgo.Record{Partition: int32(i % 4), Timestamp: old, Value: fmt.Appendf(nil, `{"i":%d}`, i)})
	}
	for p := range 4 {
		recs = append(recs, &kgo.Record{Partition: int32(p), Timestamp: time.Now(), Value: []byte(`{"last":true}`)})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	w := workerproc.Start(t, bin, workerproc.Shared(t), []string{
		"HOME=/nonexistent", "WEIR_SOURCE_KIND=kafka", "WEIR_SOURCE_KAFKA_BROKERS=" + strings.Join(addrs, ","),
		"WEIR_SOURCE_KAFKA_TOPICS=events", "WEIR_SOURCE_KAFKA_GROUP=" + group,
		"WEIR_SINKS_FILE_DIR=" + workerproc.Writable(t), "WEIR_SINKS_CLOUDWATCH_ENABLED=false", "WEIR_ANOMALY_ENABLED=false",
		"WEIR_WINDOW_PERIOD=1s", "WEIR_WINDOW_ALLOWED_LATENESS=0s", "WEIR_HTTP_ADDR=" + workerproc.FreeAddr(t), "WEIR_SUMMARY=off",
		"WEIR_SHUTDOWN_TIMEOUT=" + budget.String(),
	})
	state := func() string { s, _ := grouptest.State(ctx, cl, group); return s }
	w.WaitFor(t, "the worker to own all 4 partitions", 30*time.Second, func() bool { return state() == "Stable" })

	// Join as a second member that then goes silent: the worker, the cooperative leader,
	// revokes two partitions to hand them over and rejoins, and that JoinGroup waits for us
	// (60s, the rebalance timeout).
	if _, err := grouptest.JoinSilently(ctx, cl, group, []string{"events"}, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	w.WaitFor(t, "the worker's JoinGroup to wait for the silent member", 30*time.Second, func() bool {
		return state() == "PreparingRebalance"
	})
	time.Sleep(500 * time.Millisecond)                        // the worker's JoinGroup is at the coordinator
	took, err, exited := w.Terminate(budget + 80*time.Second) // the rebalance timeout, and then some
	if !exited {
		t.Fatalf("no exit %v after SIGTERM; stderr:\n%s", took, w.Stderr.Tail(40))
	}
	t.Logf("SIGTERM with a rebalance in flight → exit %v after %v (shutdown_timeout %v)", err, took.Round(time.Millisecond), budget)
	if testing.Verbose() {
		t.Logf("worker log:\n%s", w.Stderr.Tail(40))
	}
	if err != nil {
		t.Errorf("exit %v, want 0; stderr:\n%s", err, w.Stderr.Tail(30))
	}
	if took > budget+time.Second {
		t.Errorf("exit after %v, over the %v budget", took, budget)
	}
	// What it made durable is committed: the group's offsets cover every record produced.
	offs, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	var committed int64
	offs.Each(func(o kadm.OffsetResponse) { committed += o.At })
	if committed != produced {
		t.Errorf("committed offsets sum to %d, want %d (every record but the last of each partition)", committed, produced)
	}
	// It left: the group no longer lists it (only the silent member, or nobody).
	if _, n := grouptest.State(ctx, cl, group); n > 1 {
		t.Errorf("%d members after the worker exited, want at most the silent one", n)
	}
}
