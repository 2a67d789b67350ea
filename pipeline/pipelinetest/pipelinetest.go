// Package pipelinetest holds the test doubles that tests of the pipeline and of what drives it
// share: a sink that keeps what it is given (and can stall or fail), a committer that records
// commit points (and checks they only move forward), one that discards everything, and a
// polling wait.
package pipelinetest

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline"
)

// MemSink keeps every output and dead letter it is given. Set Gate or Fail before the first
// Write.
type MemSink struct {
	// Gate, if set, makes every Write wait until it is closed (or the write's context ends).
	Gate chan struct{}
	// Fail is how many Writes fail (with io.ErrUnexpectedEOF) before they succeed again.
	Fail int

	mu      sync.Mutex
	outs    []*pipeline.Output
	letters []pipeline.DeadLetter
}

// Name implements pipeline.Sink.
func (s *MemSink) Name() string { return "mem" }

// Write implements pipeline.Sink.
func (s *MemSink) Write(ctx context.Context, out *pipeline.Output) error {
	if s.Gate != nil {
		select {
		case <-s.Gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Fail > 0 {
		s.Fail--
		return io.ErrUnexpectedEOF
	}
	s.outs = append(s.outs, out)
	return nil
}

// WriteDeadLetters implements pipeline.DeadLetterSink.
func (s *MemSink) WriteDeadLetters(_ context.Context, ls []pipeline.DeadLetter) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.letters = append(s.letters, ls...)
	return nil
}

// Close implements pipeline.Sink.
func (s *MemSink) Close(context.Context) error { return nil }

// Outputs returns the outputs written so far, in order.
func (s *MemSink) Outputs() []*pipeline.Output {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*pipeline.Output(nil), s.outs...)
}

// DeadLetters returns the dead letters written so far, in order.
func (s *MemSink) DeadLetters() []pipeline.DeadLetter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]pipeline.DeadLetter(nil), s.letters...)
}

// Commits records every partition's latest commit point and fails the test if one moves
// backwards or stays put.
type Commits struct {
	t  testing.TB
	mu sync.Mutex
	at map[pipeline.Partition]int64
}

// NewCommits returns a recorder reporting to t.
func NewCommits(t testing.TB) *Commits {
	return &Commits{t: t, at: map[pipeline.Partition]int64{}}
}

// Commit implements pipeline.Committer.
func (c *Commits) Commit(p pipeline.Partition, pos pipeline.Position) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.at[p]; ok && pos.Offset <= prev {
		c.t.Errorf("commit for %v went from %d to %d", p, prev, pos.Offset)
	}
	c.at[p] = pos.Offset
}

// Get returns p's latest commit point, and whether it has one.
func (c *Commits) Get(p pipeline.Partition) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.at[p]
	return v, ok
}

// Discard is a sink, dead-letter sink and committer that keeps nothing: for benchmarks, and
// for tests whose subject is elsewhere.
type Discard struct{}

// Name implements pipeline.Sink.
func (Discard) Name() string { return "discard" }

// Write implements pipeline.Sink.
func (Discard) Write(context.Context, *pipeline.Output) error { return nil }

// WriteDeadLetters implements pipeline.DeadLetterSink.
func (Discard) WriteDeadLetters(context.Context, []pipeline.DeadLetter) error { return nil }

// Close implements pipeline.Sink.
func (Discard) Close(context.Context) error { return nil }

// Commit implements pipeline.Committer.
func (Discard) Commit(pipeline.Partition, pipeline.Position) {}

// WaitFor polls cond every few milliseconds and fails the test if it does not hold within 10s.
func WaitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
