// Package pipelinetest holds the test doubles that tests of the pipeline and of what drives it
// share: a partial store and dead-letter sink in memory (which can stall or fail), a committer
// that records checkpoints (and checks they only move forward), one that discards everything,
// and a polling wait.
package pipelinetest

import (
	"bytes"
	"context"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/throughput"
)

// Key names a partial: its window's start and its partition.
type Key struct {
	Start     time.Time
	Partition pipeline.Partition
}

// MemStore is a partial store and dead-letter sink in memory: the latest partial of every
// (window, partition), as a bucket keeps them, and every dead letter. Set Gate or Fail before
// the first write.
type MemStore struct {
	// Gate, if set, makes every write wait until it is closed (or the write's context ends).
	Gate chan struct{}
	// Fail is how many partial writes fail (with io.ErrUnexpectedEOF) before they succeed.
	Fail int

	mu      sync.Mutex
	parts   map[Key][]byte
	writes  map[Key]int
	letters []pipeline.DeadLetter
}

func (s *MemStore) wait(ctx context.Context) error {
	if s.Gate == nil {
		return nil
	}
	select {
	case <-s.Gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WritePartial implements pipeline.PartialWriter.
func (s *MemStore) WritePartial(ctx context.Context, start time.Time, p pipeline.Partition, body []byte) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Fail > 0 {
		s.Fail--
		return io.ErrUnexpectedEOF
	}
	if s.parts == nil {
		s.parts, s.writes = map[Key][]byte{}, map[Key]int{}
	}
	k := Key{start.UTC(), p}
	s.parts[k] = bytes.Clone(body)
	s.writes[k]++
	return nil
}

// WriteDeadLetters implements pipeline.DeadLetterSink.
func (s *MemStore) WriteDeadLetters(ctx context.Context, ls []pipeline.DeadLetter) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.letters = append(s.letters, ls...)
	return nil
}

// Partials returns the store's partials, decoded, by key.
func (s *MemStore) Partials(t testing.TB) map[Key]*pipeline.Partial {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[Key]*pipeline.Partial, len(s.parts))
	for k, b := range s.parts {
		pt, err := pipeline.DecodePartial(b)
		if err != nil {
			t.Fatalf("partial %v %v: %v", k.Start, k.Partition, err)
		}
		out[k] = pt
	}
	return out
}

// Bodies returns the store's partials' bytes, by key.
func (s *MemStore) Bodies() map[Key]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[Key]string, len(s.parts))
	for k, b := range s.parts {
		out[k] = string(b)
	}
	return out
}

// Writes returns how many times each partial was written.
func (s *MemStore) Writes() map[Key]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.writes)
}

// DeadLetters returns the dead letters written so far, in order.
func (s *MemStore) DeadLetters() []pipeline.DeadLetter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.letters)
}

// Clone copies the store: what a crashed worker left behind, for a restart to write to.
func (s *MemStore) Clone() *MemStore {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &MemStore{parts: maps.Clone(s.parts), writes: maps.Clone(s.writes), letters: slices.Clone(s.letters)}
}

// Throughput returns the throughput operator's counts in a partial (zero if it has none).
func Throughput(t testing.TB, pt *pipeline.Partial) throughput.Counts {
	t.Helper()
	for _, os := range pt.Ops {
		if os.Name != throughput.Name {
			continue
		}
		var st throughput.State
		if err := msgpack.Unmarshal(os.State, &st); err != nil {
			t.Fatal(err)
		}
		if len(st.Parts) != 1 {
			t.Fatalf("a partial's throughput state has %d partitions", len(st.Parts))
		}
		return st.Parts[0]
	}
	return throughput.Counts{}
}

// Summaries returns the records each partition's partial of each window counted, by window
// start and partition id, checking the partials' own count against the throughput operator's
// where it ran.
func Summaries(t testing.TB, s *MemStore) map[time.Time]map[string]int64 {
	t.Helper()
	got := map[time.Time]map[string]int64{}
	for k, pt := range s.Partials(t) {
		if got[k.Start] == nil {
			got[k.Start] = map[string]int64{}
		}
		got[k.Start][k.Partition.ID] += pt.Records
		if c := Throughput(t, pt); len(pt.Ops) > 0 && c.Records != pt.Records {
			t.Errorf("partial %v %v: %d records, its throughput state %d", k.Start, k.Partition, pt.Records, c.Records)
		}
	}
	return got
}

// Commits records every partition's latest checkpoint and fails the test if one moves
// backwards or stays put.
type Commits struct {
	t  testing.TB
	mu sync.Mutex
	at map[pipeline.Partition]pipeline.Checkpoint
}

// NewCommits returns a recorder reporting to t.
func NewCommits(t testing.TB) *Commits {
	return &Commits{t: t, at: map[pipeline.Partition]pipeline.Checkpoint{}}
}

// Commit implements pipeline.Committer.
func (c *Commits) Commit(p pipeline.Partition, cp pipeline.Checkpoint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.at[p]; ok && (cp.Position.Offset < prev.Position.Offset ||
		cp.Position.Offset == prev.Position.Offset && cp.State.ClosedThrough <= prev.State.ClosedThrough) {
		c.t.Errorf("commit for %v went from %v to %v", p, prev, cp)
	}
	c.at[p] = cp
}

// Get returns the offset of p's latest commit point, and whether it has one.
func (c *Commits) Get(p pipeline.Partition) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.at[p]
	return v.Position.Offset, ok
}

// Checkpoint returns p's latest checkpoint, and whether it has one.
func (c *Commits) Checkpoint(p pipeline.Partition) (pipeline.Checkpoint, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.at[p]
	return v, ok
}

// Discard is a partial store, dead-letter sink and committer that keeps nothing: for
// benchmarks, and for tests whose subject is elsewhere.
type Discard struct{}

// WritePartial implements pipeline.PartialWriter.
func (Discard) WritePartial(context.Context, time.Time, pipeline.Partition, []byte) error { return nil }

// WriteDeadLetters implements pipeline.DeadLetterSink.
func (Discard) WriteDeadLetters(context.Context, []pipeline.DeadLetter) error { return nil }

// Commit implements pipeline.Committer.
func (Discard) Commit(pipeline.Partition, pipeline.Checkpoint) {}

// WaitFor polls cond every few milliseconds and fails the test if it does not hold within 10s;
// what, if given, says in the failure what did not happen.
func WaitFor(t testing.TB, cond func() bool, what ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			if len(what) > 0 {
				t.Fatal(strings.Join(what, " ") + " (not within 10s)")
			}
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
