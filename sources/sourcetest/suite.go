// Package sourcetest is the conformance suite of weir's sources and the harness their tests
// share: a source wired to a pipeline runtime as the worker wires them (Start), writing to a
// Store that counts every record by ID in durable windows, with a graceful Stop and a Crash that
// writes, commits and releases nothing more.
//
// Every source passes the same cases against its real server (Kafka on kfake, Kinesis on
// moto), from a test in its package:
//
//	sourcetest.Run(t, sourcetest.Subject{NewStream: …, ID: …})
//
// the counts are exact and the commits reach the end; a worker killed mid-stream loses nothing
// and counts nothing twice (its replacement resumes from the checkpoints it committed, and the
// partials it writes again are the same bytes), also when it died after a partition's
// partials were durable and before any of its commit points was stored; a member that lost its partitions in a
// rebalance refuses commit points for them, and every record is counted once across the
// rebalance; a stalled store stops the source within the in-flight budget, and everything
// completes once it resumes.
package sourcetest

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/pipeline"
)

// Stream is one case's stream: a Kafka topic with its consumer group, a Kinesis stream with its
// lease table.
type Stream interface {
	// Produce appends n records to every partition and returns their IDs (Subject.ID).
	Produce(t *testing.T, n int) []string
	// Open builds a new member of the stream's consumer group or lease fleet.
	Open(d Deps) (Source, error)
	// CommittedToEnd returns nil when every partition's committed position is its end (a
	// restart would read nothing again), else what differs.
	CommittedToEnd(t *testing.T) error
	// AnyCommitted reports whether any partition has a committed position yet.
	AnyCommitted(t *testing.T) bool
	// Partition is one partition of the stream, and Beyond a position past its end: the
	// commit point a member that lost the partition must refuse.
	Partition() pipeline.Partition
	Beyond() pipeline.Position
}

// Subject is one source implementation under the suite.
type Subject struct {
	// NewStream creates a fresh stream of Partitions partitions for one case.
	NewStream  func(t *testing.T, partitions int) Stream
	Partitions int
	// Records is how many records each partition gets in a case, sized to the server's pace.
	Records int
	// ID names a record: unique in the stream, the same however often the record is read.
	ID func(*pipeline.Record) string
	// Window is the workers' windowing; nil takes Options' default.
	Window *pipeline.WindowConfig
	// Rejected is the counter of commit points refused, with reason="not_owned".
	Rejected string
	// Overshoot is how many bytes beyond the budget a stalled sink may leave charged: what the
	// source had fetched, or may fetch, before it saw the budget full.
	Overshoot func(budget int64) int64
	// Timeout bounds each wait for records to become durable.
	Timeout time.Duration

	// Source-specific checks, each run at the end of its case.
	AfterExact func(t *testing.T, s Stream, st *Store)
	AfterCrash func(t *testing.T, s Stream, st *Store) // right after the crash, before the restart
	WhileStall func(t *testing.T, w *Worker)           // while the sink is stalled
}

// Run runs the suite, each case with a stream of its own.
func Run(t *testing.T, sub Subject) {
	if sub.Timeout == 0 {
		sub.Timeout = 30 * time.Second
	}
	opts := func(name string) Options { return Options{Name: name, Window: sub.Window} }
	start := func(t *testing.T, s Stream, st *Store, o Options) *Worker {
		w, _ := Start(t, st, s.Open, o)
		return w
	}
	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"exact counts and commits to the end", func(t *testing.T) {
			s := sub.NewStream(t, sub.Partitions)
			ids := s.Produce(t, sub.Records)
			st := NewStore(sub.ID)
			w := start(t, s, st, opts("only"))
			WaitUntil(t, sub.Timeout, "every record durable", func() bool { return st.Distinct() == len(ids) }, w)
			w.Stop(t)
			checkExact(t, st, ids)
			if err := s.CommittedToEnd(t); err != nil {
				// Under CPU load this failed once in six runs, and never with logs on: the
				// counters say whether a partition was lost (its final commit then skipped).
				t.Error(err)
				w.Dump(t)
			}
			problems, err := testutil.GatherAndLint(w.Reg)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Errorf("metric %s: %s", p.Metric, p.Text)
			}
			if sub.AfterExact != nil {
				sub.AfterExact(t, s, st)
			}
		}},
		{"a crash loses nothing and counts nothing twice", func(t *testing.T) {
			s := sub.NewStream(t, sub.Partitions)
			ids := s.Produce(t, sub.Records)
			st := NewStore(sub.ID)
			a := start(t, s, st, opts("a"))
			WaitUntil(t, sub.Timeout, "something committed", func() bool { return s.AnyCommitted(t) }, a)
			a.Crash(t)
			if sub.AfterCrash != nil {
				sub.AfterCrash(t, s, st)
			}
			b := start(t, s, st, opts("b"))
			// Every record durable is not enough: what a durably wrote past its last stored
			// commit is durable already, and b may still be reading it again when that holds.
			WaitUntil(t, sub.Timeout, "every record durable and committed after the restart", func() bool {
				return st.Distinct() == len(ids) && s.CommittedToEnd(t) == nil
			}, b)
			b.Stop(t)
			checkExact(t, st, ids)
			if err := s.CommittedToEnd(t); err != nil {
				t.Error(err)
			}
		}},
		{"a crash after partials are durable and before their commit counts nothing twice", func(t *testing.T) {
			// The worst moment of a crash, made certain instead of left to timing: every
			// record of one partition is in a durable partial and none of its commit points
			// reached the source, so the next owner reads all of it again. It must write the
			// same partials under the same keys (replacing them), never count a record in
			// another window. Windows by the wall clock when a record is read (processing
			// time) cannot promise this, and fail here.
			s := sub.NewStream(t, sub.Partitions)
			ids := s.Produce(t, sub.Records)
			st := NewStore(sub.ID)
			o := opts("a")
			replayed := s.Partition()
			o.Withhold = func(p pipeline.Partition) bool { return p == replayed }
			a := start(t, s, st, o)
			WaitUntil(t, sub.Timeout, "every record durable and another partition committed", func() bool {
				return st.Distinct() == len(ids) && s.AnyCommitted(t)
			}, a)
			a.Crash(t)
			b := start(t, s, st, opts("b"))
			// Every record is durable already: wait for the replay to commit to the end.
			WaitUntil(t, sub.Timeout, "every partition committed to its end after the restart", func() bool {
				return s.CommittedToEnd(t) == nil
			}, b)
			b.Stop(t)
			checkExact(t, st, ids)
		}},
		{"a rebalance counts every record once and refuses foreign commits", func(t *testing.T) {
			s := sub.NewStream(t, sub.Partitions)
			ids := s.Produce(t, sub.Records/2)
			st := NewStore(sub.ID)
			// The second half is produced after a pause, and the idle timeout must cover it, or
			// its records (with event times continuing the first half's) would rightly be late.
			o := opts("a")
			wc := DefaultWindow()
			if o.Window != nil {
				wc = *o.Window
			}
			wc.IdleTimeout = 3 * time.Second
			o.Window = &wc
			a := start(t, s, st, o)
			o.Name = "b"
			b := start(t, s, st, o)
			WaitUntil(t, sub.Timeout, "a quarter durable", func() bool { return st.Distinct() >= len(ids)/2 }, a, b)
			// b leaves: a takes every partition. Its final commit may meet a rebalance still
			// completing (a cooperative group's second round, late on a loaded machine) and be
			// refused as stale: Close then returns that error, as documented, and a reads those
			// records again, which the counts below must still show once. Any other stop is
			// checked by the cases that stop a worker alone.
			if err := b.StopSource(t); err != nil {
				t.Logf("b: source close: %v (a commit refused during a rebalance: a replays it)", err)
			}

			// b owns nothing now: a commit point from it (an acknowledgement arriving late)
			// must not be committed.
			b.Src.Commit(s.Partition(), pipeline.Checkpoint{Position: s.Beyond()})
			if got := metrictest.Sum(t, b.Reg, sub.Rejected, map[string]string{"reason": "not_owned"}); got < 1 {
				t.Errorf("%s{reason=not_owned} = %v after a commit for a partition not owned, want >= 1", sub.Rejected, got)
			}
			b = start(t, s, st, o)
			ids = append(ids, s.Produce(t, sub.Records-sub.Records/2)...)
			WaitUntil(t, sub.Timeout, "every record durable", func() bool { return st.Distinct() == len(ids) }, a, b)
			b.Stop(t)
			a.Stop(t)
			checkExact(t, st, ids)
			if err := s.CommittedToEnd(t); err != nil {
				t.Errorf("%v (the refused commit point was %v)", err, s.Beyond())
			}
		}},
		{"a stalled store stops the source within the budget", func(t *testing.T) {
			s := sub.NewStream(t, sub.Partitions)
			ids := s.Produce(t, sub.Records)
			st := NewStore(sub.ID)
			st.Stall(true)
			o := opts("stalled")
			o.Budget = 2 << 20
			w := start(t, s, st, o)
			// The peak is sampled for 2 s from the first fetch, not from the start: taking the
			// partitions (a Kinesis lease in DynamoDB, a Kafka group join) took over 2 s on a
			// loaded machine, and the case then saw nothing fetched.
			// A fetch shows as bytes in flight, or, when it was small enough to be read into
			// windows before a sample caught it (its bytes already released), as records read.
			var peak int64
			WaitUntil(t, sub.Timeout, "a first fetch through the budget", func() bool {
				peak = max(peak, w.Budget.InUse())
				return peak > 0 || w.RT.Stats().Records > 0
			}, w)
			for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
				peak = max(peak, w.Budget.InUse())
				time.Sleep(2 * time.Millisecond)
			}
			if allowed := o.Budget + sub.Overshoot(o.Budget); peak > allowed {
				t.Errorf("in-flight bytes peaked at %d with a stalled store; the budget %d allows %d", peak, o.Budget, allowed)
			}
			if peak == 0 && w.RT.Stats().Records == 0 {
				t.Error("nothing was fetched; the case proves nothing")
			}
			if n := st.Distinct(); n != 0 {
				t.Errorf("%d records durable through a stalled store", n)
			}
			if sub.WhileStall != nil {
				sub.WhileStall(t, w)
			}
			st.Stall(false)
			WaitUntil(t, sub.Timeout, "every record durable after the store resumed", func() bool { return st.Distinct() == len(ids) }, w)
			w.Stop(t)
			t.Logf("peak in-flight %d bytes with a %d-byte budget", peak, o.Budget)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, c.run)
	}
}

// checkExact fails the test unless every record of ids is counted exactly once in the store's
// partials, and no partial was written again with other bytes.
func checkExact(t *testing.T, st *Store, ids []string) {
	t.Helper()
	if missing, dups := st.Check(ids); missing != 0 || dups != 0 {
		t.Errorf("%d records missing and %d counted more than once, of %d", missing, dups, len(ids))
	}
	if n, how := st.Conflicts(); n != 0 {
		t.Errorf("%d partials were written again with other bytes: %v", n, how)
	}
}
