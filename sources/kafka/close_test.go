package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/internal/grouptest"
)

// Close with a rebalance in flight (this worker's JoinGroup waits at the coordinator for a
// member that never rejoins, for up to 5s here): it returns within its context's 2s, having
// committed everything durable and left the group, instead of waiting out the rebalance with
// its commit held back by franz-go.
func TestCloseWithARebalanceInFlight(t *testing.T) {
	const parts, n = 4, 300
	c := newCluster(t, parts)
	addrs := c.ListenAddrs()
	produce(t, addrs, parts, n, 2*time.Millisecond)
	st := newStore()
	w := startWorker(t, addrs, "inflight", st, workerOpts{})
	waitUntil(t, 20*time.Second, "every record durable", func() bool { return st.total() == parts*n }, w)

	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	if _, err := grouptest.JoinSilently(ctx, cl, "inflight", []string{topic}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the worker's JoinGroup held", func() bool {
		s, _ := grouptest.State(ctx, cl, "inflight")
		return s == "PreparingRebalance"
	}, w)

	w.cancel()
	if err := <-w.runErr; err != nil {
		t.Errorf("Run: %v", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := w.rt.Close(cctx); err != nil {
		t.Fatal(err)
	}
	closeCtx, cancelClose := context.WithTimeout(ctx, 2*time.Second)
	defer cancelClose()
	start := time.Now()
	err = w.src.Close(closeCtx)
	took := time.Since(start)
	if err != nil {
		t.Errorf("Close: %v", err)
	}
	if took > 2500*time.Millisecond {
		t.Errorf("Close took %v with a 2s context", took)
	}
	for p, off := range committedOffsets(t, addrs, "inflight") {
		if off != n {
			t.Errorf("partition %s committed %d, want %d", p, off, n)
		}
	}
	if s, members := grouptest.State(ctx, cl, "inflight"); members > 1 {
		t.Errorf("the group (%s) still lists %d members: the worker did not leave", s, members)
	}
	t.Logf("Close with a rebalance in flight: %v", took.Round(time.Millisecond))
}
