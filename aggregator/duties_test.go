package aggregator

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A duty runs for exactly the length of each term: started when the term begins, its context
// ended with the term, and the term over only once the duty has returned.
func TestDutiesRunForTheTerm(t *testing.T) {
	env := fileEnv(t)
	lead := newTestLeadership()
	opts := options(t, env, partitions(2), lead, newPublished(t), nil)
	var running, started, returnedLate atomic.Int32
	opts.Duties = []func(context.Context){func(ctx context.Context) {
		started.Add(1)
		running.Add(1)
		<-ctx.Done()
		time.Sleep(50 * time.Millisecond) // a duty finishing its last write
		running.Add(-1)
	}, func(ctx context.Context) {
		<-ctx.Done()
		returnedLate.Add(1)
	}}
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()

	if started.Load() != 0 {
		t.Fatal("a duty ran before any term")
	}
	end1 := lead.grant(t, 1)
	waitFor(t, "the duty to start with the first term", func() bool { return running.Load() == 1 })
	end1()
	waitFor(t, "the first term to end", func() bool { return testutil.ToFloat64(a.m.leader) == 0 })
	if running.Load() != 0 || returnedLate.Load() != 1 {
		t.Fatalf("the term ended with %d duties still running (%d returned)", running.Load(), returnedLate.Load())
	}
	end2 := lead.grant(t, 2)
	waitFor(t, "the duty to start again with the second term", func() bool { return started.Load() == 2 && running.Load() == 1 })
	stop() // the process stops while it is the aggregator
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	end2()
	if running.Load() != 0 {
		t.Error("Run returned with a duty still running")
	}
}
