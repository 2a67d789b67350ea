package kafka_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/internal/grouptest"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/pipeline/pipelinetest"
	"github.com/weirstream/weir/pipeline/throughput"
	"github.com/weirstream/weir/sources/kafka"
	"github.com/weirstream/weir/sources/sourcetest"
)

// Close with a rebalance in flight (this member's JoinGroup waits at the coordinator, for up
// to 15s here, for a member that never rejoins; franz-go holds commits meanwhile): it returns
// within its context's 2s, having committed what became durable while the join was held, and
// left the group, instead of waiting out the rebalance.
func TestCloseWithARebalanceInFlight(t *testing.T) {
	const parts, n = 4, 300
	c := newCluster(t, parts)
	addrs := c.ListenAddrs()
	produce(t, addrs, parts, 0, n, 2*time.Millisecond)

	cfg := kafka.DefaultConfig()
	cfg.Brokers, cfg.Topics, cfg.Group = addrs, []string{topic}, "inflight"
	// kfake drops a member whose JoinGroup waits longer than its session timeout (Kafka does
	// not): the session outlasts the test's hold.
	cfg.SessionTimeout, cfg.RebalanceTimeout = 10*time.Second, 15*time.Second
	cfg.RevokeTimeout, cfg.RevokeCommitTimeout = time.Second, time.Second
	cfg.CommitInterval = 100 * time.Millisecond
	reg, budget := prometheus.NewRegistry(), pipeline.NewBudget(64<<20)
	pm := pipeline.NewMetrics(reg)
	var logOut io.Writer = io.Discard
	if os.Getenv("WEIR_TEST_LOG") != "" {
		logOut = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(logOut, nil))
	src, err := kafka.New(context.Background(), cfg, budget, reg, pm, log, kgo.HeartbeatInterval(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	rt, err := pipeline.New(pipeline.Options{Window: sourcetest.DefaultWindow(), Plan: decode.NewPlan(decode.JSON),
		Operators: []pipeline.Operator{throughput.New()}, Partials: pipelinetest.Discard{},
		DeadLetters: pipelinetest.Discard{}, Committer: src, Budget: budget, Metrics: pm, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	rt.Start()
	runCtx, stopRun := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- src.Run(runCtx, rt) }()
	ctx := context.Background()
	waitUntil(t, 20*time.Second, "every record committed", func() bool {
		return sum(committedOffsets(t, addrs, "inflight")) == parts*n
	})

	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := grouptest.JoinSilently(ctx, cl, "inflight", []string{topic}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the worker's JoinGroup held", func() bool {
		s, _ := grouptest.State(ctx, cl, "inflight")
		return s == "PreparingRebalance"
	})
	// Records processed while the join is held: durable, and committed by weir's own commits
	// (franz-go's would wait for the join) at once or at the latest by Close.
	produce(t, addrs, parts, n, 100, time.Second) // event times ahead of the first records': on time
	var last int64
	waitUntil(t, 10*time.Second, "the new records processed", func() bool {
		time.Sleep(500 * time.Millisecond) // settled: nothing processed for half a second
		now := rt.Stats().Records
		settled := now == last && now > parts*n
		last = now
		return settled
	})
	time.Sleep(time.Second) // their windows close (idle timeout) and become durable

	stopRun()
	if err := <-runErr; err != nil {
		t.Errorf("Run: %v", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := rt.Close(cctx); err != nil {
		t.Fatal(err)
	}
	before := sum(committedOffsets(t, addrs, "inflight"))
	closeCtx, cancelClose := context.WithTimeout(ctx, 2*time.Second)
	defer cancelClose()
	start := time.Now()
	err = src.Close(closeCtx)
	took := time.Since(start)
	if err != nil {
		t.Errorf("Close: %v", err)
	}
	if took > 2500*time.Millisecond {
		t.Errorf("Close took %v with a 2s context", took)
	}
	committed := committedOffsets(t, addrs, "inflight")
	after, full := sum(committed), 0
	for _, off := range committed {
		if off == n+100 {
			full++ // a partition this worker kept, its records of the join's time committed
		}
	}
	if after < before || full == 0 {
		t.Errorf("committed %v (%d before Close): the records processed during the join were not committed", committed, before)
	}
	if s, members := grouptest.State(ctx, cl, "inflight"); members > 1 {
		t.Errorf("the group (%s) still lists %d members: the worker did not leave", s, members)
	}
	t.Logf("Close with a rebalance in flight: %v; committed %d → %d", took.Round(time.Millisecond), before, after)
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}
