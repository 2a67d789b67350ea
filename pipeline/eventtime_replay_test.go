package pipeline_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/pipeline/pipelinetest"
)

// positionsOp lists, per window, the positions of the records folded in: which records fell in
// which window, exactly.
type positionsOp struct{}

func (positionsOp) Name() string                               { return "positions" }
func (positionsOp) NewState(pipeline.Partition) pipeline.State { return &positionsState{} }

type positionsState struct{ Offsets []int64 }

func (s *positionsState) Observe(r *pipeline.Record, _ []decode.Value) {
	s.Offsets = append(s.Offsets, r.Position.Offset)
}
func (s *positionsState) Merge(o pipeline.State) error {
	s.Offsets = append(s.Offsets, o.(*positionsState).Offsets...)
	return nil
}
func (s *positionsState) Emit(_ pipeline.Window, out *pipeline.Output) {
	out.Reports = append(out.Reports, pipeline.Report{Kind: "test", Name: "positions", Body: s.Offsets})
}
func (s *positionsState) EncodeMsgpack(e *msgpack.Encoder) error { return e.Encode(s.Offsets) }
func (s *positionsState) DecodeMsgpack(d *msgpack.Decoder) error { return d.Decode(&s.Offsets) }

// messyPartition is 3,000 records of one partition, 40 ms apart in event time: one in ten out of
// order by up to 4 s (inside the 5 s allowed lateness), one in fifty stamped 6 s to a minute
// back (late or not depending on where the window ends: rule 3 decides), one in a hundred
// undecodable.
func messyPartition(p pipeline.Partition, start time.Time) []pipeline.Record {
	rng := rand.New(rand.NewPCG(7, 11))
	var recs []pipeline.Record
	for i := range 3000 {
		ts := start.Add(time.Duration(i) * 40 * time.Millisecond)
		switch n := rng.IntN(100); {
		case n < 10:
			ts = ts.Add(-time.Duration(rng.Int64N(int64(4 * time.Second))))
		case n < 12:
			ts = ts.Add(-6*time.Second - time.Duration(rng.Int64N(int64(54*time.Second))))
		}
		r := stamped(p, int64(i), ts)
		if rng.IntN(100) == 0 {
			r.Value = []byte(`{"ts" "` + ts.Format(time.RFC3339Nano) + `"}`)
		}
		recs = append(recs, r)
	}
	return recs
}

// replayRun processes recs from from (nil: the start) in batches of batchLen, moving the clock
// by step per batch (the source never says caught up, so no wall-clock rule applies while the
// records are read), with, beside them, a noisy neighbour whose records run an hour ahead
// when asked. Then the source says the partition is caught up and the clock moves on, so the
// windows still open close on it, and the runtime closes once everything is durable. Every
// partial goes to store; crashAfter > 0 crashes the run (see crashRun) after that many
// batches instead.
func replayRun(t *testing.T, store *pipelinetest.MemStore, recs []pipeline.Record, from *pipeline.Checkpoint, batchLen int,
	step time.Duration, neighbour bool, late pipeline.LatePolicy) *harness {
	t.Helper()
	h, p, f, clock := replayHarness(t, store, recs, from, neighbour, late)
	for i := firstAfter(recs, from); i < len(recs); i += batchLen {
		clock.advance(step)
		b := pipeline.Batch{Partition: p, Records: recs[i:min(i+batchLen, len(recs))], More: true}
		if err := f.Send(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Send(context.Background(), pipeline.Batch{Partition: p}); err != nil {
		t.Fatal(err)
	}
	lastPos := recs[len(recs)-1].Position.Offset
	// The records' times run ahead of this clock: bring it past the last of them.
	if d := recs[len(recs)-1].Time.Sub(clock.Now()); d > 0 {
		clock.advance(d)
	}
	pipelinetest.WaitFor(t, func() bool {
		clock.advance(time.Second)
		c, _ := h.commits.Get(p)
		return c == lastPos
	})
	if err := h.rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	return h
}

// crashRun processes recs as replayRun does, but dies after crashAfter batches, as a killed
// process does: from then on nothing it writes reaches the store, and it commits nothing. It
// returns every checkpoint the run committed, in order.
func crashRun(t *testing.T, store *pipelinetest.MemStore, recs []pipeline.Record, batchLen, crashAfter int, late pipeline.LatePolicy) []pipeline.Checkpoint {
	t.Helper()
	crashed := &crashableStore{MemStore: store}
	var cps []pipeline.Checkpoint
	var mu sync.Mutex
	h, p, f, clock := replayHarness(t, nil, recs, nil, false, late, func(o *pipeline.Options) {
		o.Partials, o.DeadLetters = crashed, crashed
		o.Committer = committerFunc(func(_ pipeline.Partition, c pipeline.Checkpoint) {
			mu.Lock()
			defer mu.Unlock()
			if !crashed.dead.Load() {
				cps = append(cps, c)
			}
		})
	})
	sent := 0
	for i, n := 0, 0; i < len(recs) && n < crashAfter; i, n = i+batchLen, n+1 {
		clock.advance(5 * time.Millisecond)
		b := pipeline.Batch{Partition: p, Records: recs[i:min(i+batchLen, len(recs))], More: true}
		if err := f.Send(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		sent += len(b.Records)
	}
	pipelinetest.WaitFor(t, func() bool { return h.rt.Stats().Records == int64(sent) })
	// Crash at once, while partials and dead letters are in flight, or once the writers have
	// caught up.
	if crashAfter%2 == 1 {
		time.Sleep(20 * time.Millisecond)
	}
	crashed.dead.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = h.rt.Close(ctx)
	mu.Lock()
	defer mu.Unlock()
	return slices.Clone(cps)
}

type committerFunc func(pipeline.Partition, pipeline.Checkpoint)

func (f committerFunc) Commit(p pipeline.Partition, c pipeline.Checkpoint) { f(p, c) }

// crashableStore refuses every write once dead: a killed process writes nothing more.
type crashableStore struct {
	*pipelinetest.MemStore
	dead atomic.Bool
}

func (s *crashableStore) WritePartial(ctx context.Context, start time.Time, p pipeline.Partition, body []byte) error {
	if s.dead.Load() {
		<-ctx.Done()
		return ctx.Err()
	}
	return s.MemStore.WritePartial(ctx, start, p, body)
}

func (s *crashableStore) WriteDeadLetters(ctx context.Context, ls []pipeline.DeadLetter) error {
	if s.dead.Load() {
		<-ctx.Done()
		return ctx.Err()
	}
	return s.MemStore.WriteDeadLetters(ctx, ls)
}

func replayHarness(t *testing.T, store *pipelinetest.MemStore, recs []pipeline.Record, from *pipeline.Checkpoint, neighbour bool,
	late pipeline.LatePolicy, opts ...func(*pipeline.Options)) (*harness, pipeline.Partition, *pipeline.Feed, *fakeClock) {
	cfg := pipeline.DefaultWindowConfig()
	cfg.Period = 10 * time.Second
	cfg.TimeField = "$.ts"
	cfg.Late = late
	clock := &fakeClock{now: recs[0].Time}
	if store == nil {
		store = &pipelinetest.MemStore{}
	}
	h := newHarness(t, cfg, decode.NewPlan(decode.JSON), store, append([]func(*pipeline.Options){withClock(clock), func(o *pipeline.Options) {
		o.Operators = append(o.Operators, positionsOp{})
	}}, opts...)...)
	p := recs[0].Partition
	f, err := h.rt.Assign(p, from)
	if err != nil {
		t.Fatal(err)
	}
	if neighbour {
		q := pipeline.Partition{Stream: "events", ID: "9"}
		fq, _ := h.rt.Assign(q, nil)
		var qb pipeline.Batch
		for i := range 500 {
			qb.Records = append(qb.Records, stamped(q, int64(i), recs[0].Time.Add(time.Hour+time.Duration(i)*time.Second)))
		}
		if err := fq.Send(context.Background(), qb); err != nil {
			t.Fatal(err)
		}
	}
	return h, p, f, clock
}

// firstAfter is the index of the first record after the checkpoint.
func firstAfter(recs []pipeline.Record, from *pipeline.Checkpoint) int {
	if from == nil {
		return 0
	}
	for i, r := range recs {
		if r.Position.Offset > from.Position.Offset {
			return i
		}
	}
	return len(recs)
}

// partitionBodies is the store's partials of p, as bytes by window.
func partitionBodies(s *pipelinetest.MemStore, p pipeline.Partition) map[time.Time]string {
	out := map[time.Time]string{}
	for k, b := range s.Bodies() {
		if k.Partition == p {
			out[k.Start] = b
		}
	}
	return out
}

func letterList(s *pipelinetest.MemStore, p pipeline.Partition) []string {
	var out []string
	for _, l := range s.DeadLetters() {
		if l.Partition == p {
			out = append(out, fmt.Sprintf("%s %s", l.Position, l.Reason))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Replay determinism (rule 7): the same partition processed twice from the same position, in
// batches of 7 with the clock moving 5 ms a batch and in batches of 400 moving 3 s a batch
// beside a partition an hour ahead, gives byte-identical partials and the same dead letters.
// With the watermark moved once per batch, which records were late depended on where the
// batches ended.
func TestEventTimeReplayIsDeterministic(t *testing.T) {
	p := pipeline.Partition{Stream: "events", ID: "0"}
	recs := messyPartition(p, time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC))
	first, again := &pipelinetest.MemStore{}, &pipelinetest.MemStore{}
	replayRun(t, first, recs, nil, 7, 5*time.Millisecond, false, pipeline.LateDeadLetter)
	replayRun(t, again, recs, nil, 400, 3*time.Second, true, pipeline.LateDeadLetter)
	a, b := partitionBodies(first, p), partitionBodies(again, p)
	if len(a) < 12 {
		t.Fatalf("%d partials, want the 12 windows the records span", len(a))
	}
	samePartials(t, "replay", a, b)
	firstLetters, againLetters := letterList(first, p), letterList(again, p)
	if strings.Join(firstLetters, ",") != strings.Join(againLetters, ",") {
		t.Errorf("dead letters differ:\nfirst %v\nagain %v", firstLetters, againLetters)
	}
	var late int
	for _, l := range firstLetters {
		if strings.HasSuffix(l, "late") {
			late++
		}
	}
	if late == 0 || len(firstLetters) == late {
		t.Errorf("dead letters %v: want both late and undecodable ones, or the test tests little", firstLetters)
	}
	// Every record is in exactly one partial, or a dead letter.
	seen := map[int64]int{}
	for _, pt := range first.Partials(t) {
		if pt.Partition != p.ID {
			continue
		}
		for _, os := range pt.Ops {
			if os.Name == "positions" {
				var st positionsState
				if err := msgpack.Unmarshal(os.State, &st); err != nil {
					t.Fatal(err)
				}
				for _, o := range st.Offsets {
					seen[o]++
				}
			}
		}
	}
	for _, l := range first.DeadLetters() {
		if l.Partition == p {
			seen[l.Position.Offset]++
		}
	}
	for i := range recs {
		if seen[int64(i)] != 1 {
			t.Fatalf("record %d counted %d times", i, seen[int64(i)])
		}
	}
}

// A partition processed again from a committed checkpoint, after a crash, writes exactly the
// partials a run without the crash writes, byte for byte, under the same keys: the windows
// the crashed run made durable are rewritten with the same bytes or (straddlers: durable, with
// records before the checkpoint) not touched, and none is written with part of its records.
// Every checkpoint the crashed run committed is tried, since a source may have stored any of
// them (Kafka commits lag the runtime's commit points), with crashes at many points of the
// stream; the messy records (out of order within the lateness, late, undecodable) make
// straddling windows at nearly every window boundary.
func TestReplayFromCheckpointAfterCrashIsByteIdentical(t *testing.T) {
	for _, late := range []pipeline.LatePolicy{pipeline.LateDeadLetter, pipeline.LateOldestOpen} {
		t.Run(string(late), func(t *testing.T) {
			p := pipeline.Partition{Stream: "events", ID: "0"}
			recs := messyPartition(p, time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC))
			want := &pipelinetest.MemStore{}
			replayRun(t, want, recs, nil, 50, 5*time.Millisecond, false, late)
			wantBodies := partitionBodies(want, p)
			straddled, tried := 0, 0
			for _, crashAfter := range []int{3, 11, 17, 26, 33, 41, 52} {
				crashed := &pipelinetest.MemStore{}
				cps := crashRun(t, crashed, recs, 50, crashAfter, late)
				t.Logf("crash after %d: %d checkpoints", crashAfter, len(cps))
				var from []*pipeline.Checkpoint
				if len(cps) == 0 {
					from = append(from, nil) // nothing committed: the partition starts again
				}
				// The last checkpoint, and two earlier ones.
				for i := len(cps) - 1; i >= 0; i -= max(1, len(cps)/3) {
					from = append(from, &cps[i])
				}
				for _, cp := range from {
					tried++
					if cp != nil && len(cp.State.Straddlers) > 0 {
						straddled++
					}
					store := crashed.Clone()
					h := replayRun(t, store, recs, cp, 37, 5*time.Millisecond, false, late)
					samePartials(t, fmt.Sprintf("crash after %d batches, restart from %v", crashAfter, cp),
						wantBodies, partitionBodies(store, p))
					if cp != nil && len(cp.State.Straddlers) > 0 && metrictest.Sum(t, h.reg, "weir_replayed_records_total", nil) == 0 {
						t.Errorf("restart from %v with straddlers swallowed nothing", cp)
					}
				}
			}
			if straddled == 0 {
				t.Errorf("none of %d checkpoints had straddlers: the test tests little", tried)
			}
			t.Logf("%d restarts, %d from checkpoints with straddlers", tried, straddled)
		})
	}
}

// samePartials checks that got has the partials want has, byte for byte. Empty partials (no
// record, no count) may come and go: which window a partition's watermark had passed when a
// batch ended depends on batching, and an empty partial says no more than the next partial.
func samePartials(t *testing.T, what string, want, got map[time.Time]string) {
	t.Helper()
	for w, body := range want {
		if g, ok := got[w]; ok && g != body || !ok && !emptyPartial(t, body) {
			t.Errorf("%s: window %v differs", what, w.Format(time.TimeOnly))
		}
	}
	for w, body := range got {
		if _, ok := want[w]; !ok && !emptyPartial(t, body) {
			t.Errorf("%s: window %v written, and not in the first run", what, w.Format(time.TimeOnly))
		}
	}
}

func emptyPartial(t *testing.T, body string) bool {
	pt, err := pipeline.DecodePartial([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return pt.Records == 0 && len(pt.Dropped) == 0 && len(pt.Ops) == 0
}
