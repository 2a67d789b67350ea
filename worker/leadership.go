package worker

import (
	"context"
	"sync"
	"time"

	"github.com/weirstream/weir/aggregator"
)

// leadership turns a source's "this worker holds the aggregator's seat" callbacks (the Kafka
// member owning the first topic's partition 0, the holder of the Kinesis lease table's
// aggregator row) into the terms the aggregator serves (aggregator.Leadership).
type leadership struct {
	terms chan aggregator.Term
	// stopWait bounds how long giving a term up waits for the aggregator to stop: the source
	// calls it within its revoke budget.
	stopWait time.Duration

	mu     sync.Mutex
	cancel context.CancelFunc // the current term's, nil when none
	done   chan struct{}      // closed when the aggregator stopped serving it
}

func newLeadership(stopWait time.Duration) *leadership {
	return &leadership{terms: make(chan aggregator.Term), stopWait: stopWait}
}

// Acquired implements aggregator.Leadership.
func (l *leadership) Acquired() <-chan aggregator.Term { return l.terms }

// changed is the sources' callback (kafka.Source.WatchLeadership, kinesis.Source.WatchLeadership):
// a term begins with held, and the current one ends (the aggregator stopped, or stopWait
// passed) before a new one begins or when held is false.
func (l *leadership) changed(held bool, token int64) {
	l.end()
	if !held {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	l.mu.Lock()
	l.cancel, l.done = cancel, done
	l.mu.Unlock()
	term := aggregator.Term{Ctx: ctx, Token: token, Done: done}
	go func() {
		select {
		case l.terms <- term: // the aggregator closes done when it is through with it
		case <-ctx.Done():
			close(done) // given up before the aggregator took it
		}
	}()
}

// end ends the current term, if any, and waits (at most stopWait) for the aggregator to stop
// writing under it.
func (l *leadership) end() {
	l.mu.Lock()
	cancel, done := l.cancel, l.done
	l.cancel, l.done = nil, nil
	l.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	t := time.NewTimer(l.stopWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}
