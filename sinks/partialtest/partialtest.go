// Package partialtest is the conformance suite of the fleet's partial stores (sinks/s3 and
// sinks/file): what every store of partials, publish markers, the aggregator's state and the
// workers' load reports must do, whatever it is built on. A store's tests call Run with a constructor of fresh, empty stores.
package partialtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline"
)

// Store is the union of what the runtime writes (partials) and what the aggregator reads and
// guards (partials, publish markers, its state).
type Store interface {
	WritePartial(ctx context.Context, start time.Time, p pipeline.Partition, body []byte) error
	ListPartials(ctx context.Context, from time.Time, fn func(start time.Time, p pipeline.Partition) bool) error
	ReadPartial(ctx context.Context, start time.Time, p pipeline.Partition) ([]byte, error)
	// AppendPartial is ReadPartial appending to dst (the aggregator reuses one buffer).
	AppendPartial(ctx context.Context, dst []byte, start time.Time, p pipeline.Partition) ([]byte, error)
	ClaimPublish(ctx context.Context, w pipeline.Window, body []byte) (bool, error)
	LoadState(ctx context.Context, name string) ([]byte, string, error)
	SaveState(ctx context.Context, name string, data []byte, version string) (string, bool, error)
	WriteLoad(ctx context.Context, start time.Time, worker string, body []byte) error
	ListLoads(ctx context.Context, start time.Time, fn func(worker string) bool) error
	ReadLoad(ctx context.Context, start time.Time, worker string) ([]byte, error)
}

// Features says what a store's test harness can do to it.
type Features struct {
	// AddForeign puts an object that is not a partial under the partials' prefix, at a path
	// relative to the store's root (a temporary file, a stray copy): listings must skip it.
	AddForeign func(t *testing.T, key string)
}

// T0 is the first window the suite writes.
var T0 = time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC)

// Run runs every case on a fresh store from newStore.
func Run(t *testing.T, newStore func(t *testing.T) Store, f Features) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s Store, f Features)
	}{
		{"WriteReadOverwrite", writeReadOverwrite},
		{"ListFromAWindow", listFromAWindow},
		{"ListStopsWhenAsked", listStopsWhenAsked},
		{"ListSkipsForeignObjects", listSkipsForeignObjects},
		{"ClaimOnce", claimOnce},
		{"ClaimOnceConcurrently", claimOnceConcurrently},
		{"ClaimRecognisesItsOwnMarker", claimRecognisesItsOwnMarker},
		{"StateCompareAndSwap", stateCompareAndSwap},
		{"StateSwapConcurrently", stateSwapConcurrently},
		{"LoadWriteReadList", loadWriteReadList},
		{"LoadListSkipsForeignObjects", loadListSkipsForeignObjects},
		{"CanceledContext", canceledContext},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, newStore(t), f) })
	}
}

var ctx = context.Background()

func body(start time.Time, p pipeline.Partition) []byte {
	return fmt.Appendf(nil, "partial %s %s", start.Format(time.RFC3339), p)
}

// The partitions the suite writes: names that need escaping, Kafka and Kinesis ids.
var parts = []pipeline.Partition{
	{Stream: "events", ID: "0"}, {Stream: "events", ID: "10"}, {Stream: "events", ID: "2"},
	{Stream: "orders/eu", ID: "shardId-000000000001"}, {Stream: "a b", ID: "x=y"},
}

func writeAll(t *testing.T, s Store, windows int) {
	t.Helper()
	for i := range windows {
		start := T0.Add(time.Duration(i) * time.Minute)
		for _, p := range parts {
			if err := s.WritePartial(ctx, start, p, body(start, p)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

type ref struct {
	start time.Time
	p     pipeline.Partition
}

func list(t *testing.T, s Store, from time.Time) []ref {
	t.Helper()
	var got []ref
	if err := s.ListPartials(ctx, from, func(start time.Time, p pipeline.Partition) bool {
		got = append(got, ref{start, p})
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

// A partial reads back as written; writing it again (a replay) leaves one object with the
// latest bytes; a partial never written is fs.ErrNotExist.
func writeReadOverwrite(t *testing.T, s Store, _ Features) {
	p := parts[3]
	if _, err := s.ReadPartial(ctx, T0, p); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadPartial of nothing: %v, want fs.ErrNotExist", err)
	}
	if _, err := s.AppendPartial(ctx, nil, T0, p); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("AppendPartial of nothing: %v, want fs.ErrNotExist", err)
	}
	for _, b := range [][]byte{[]byte("first"), []byte("second, longer"), {}} {
		if err := s.WritePartial(ctx, T0, p, b); err != nil {
			t.Fatal(err)
		}
		got, err := s.ReadPartial(ctx, T0, p)
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("ReadPartial = %q, %v; want %q", got, err, b)
		}
		// Appended after what dst holds, in dst's memory when it has room.
		dst := make([]byte, 3, 64)
		copy(dst, "pre")
		got, err = s.AppendPartial(ctx, dst, T0, p)
		if err != nil || string(got) != "pre"+string(b) || &got[0] != &dst[0] {
			t.Fatalf("AppendPartial after %q = %q, %v; want %q in dst's memory", dst, got, err, "pre"+string(b))
		}
	}
	if got := list(t, s, T0); len(got) != 1 || got[0].p != p || !got[0].start.Equal(T0) {
		t.Errorf("after three writes of one partial, the listing is %v", got)
	}
}

// Listing from a window returns that window's partials and every later window's, each once,
// in window order; nothing earlier.
func listFromAWindow(t *testing.T, s Store, _ Features) {
	writeAll(t, s, 4)
	for _, c := range []struct {
		from    time.Time
		windows int
	}{
		{T0.Add(-time.Hour), 4}, {T0, 4}, {T0.Add(30 * time.Second), 3}, {T0.Add(2 * time.Minute), 2},
		{T0.Add(4 * time.Minute), 0},
	} {
		got := list(t, s, c.from)
		if len(got) != c.windows*len(parts) {
			t.Errorf("from %v: %d partials, want %d", c.from, len(got), c.windows*len(parts))
			continue
		}
		seen := map[ref]bool{}
		for i, r := range got {
			if r.start.Before(c.from) || i > 0 && r.start.Before(got[i-1].start) {
				t.Errorf("from %v: %v out of order or too early", c.from, r)
			}
			if r.start.Location() != time.UTC {
				t.Errorf("window start %v is not in UTC", r.start)
			}
			if seen[r] {
				t.Errorf("from %v: %v listed twice", c.from, r)
			}
			seen[r] = true
			if b, err := s.ReadPartial(ctx, r.start, r.p); err != nil || !bytes.Equal(b, body(r.start, r.p)) {
				t.Errorf("%v reads back %q, %v", r, b, err)
			}
		}
	}
}

func listStopsWhenAsked(t *testing.T, s Store, _ Features) {
	writeAll(t, s, 3)
	calls := 0
	if err := s.ListPartials(ctx, T0, func(time.Time, pipeline.Partition) bool {
		calls++
		return calls < 3
	}); err != nil {
		t.Fatal(err)
	}
	if calls != 3 {
		t.Errorf("fn called %d times after it returned false on the third", calls)
	}
}

func listSkipsForeignObjects(t *testing.T, s Store, f Features) {
	if f.AddForeign == nil {
		t.Skip("the harness cannot add foreign objects")
	}
	writeAll(t, s, 1)
	prefix := "kind=partial/window=20261121T130000Z/"
	for _, k := range []string{
		prefix + "stream=events/partition=0.msgpack.tmp-1",
		prefix + "stream=events/.tmp-2",
		prefix + "notes.txt",
		"kind=partial/window=junk/stream=events/partition=0.msgpack",
	} {
		f.AddForeign(t, k)
	}
	if got := list(t, s, T0); len(got) != len(parts) {
		t.Errorf("listing with foreign objects: %v", got)
	}
}

// The first claim of a window wins, every later one loses; windows are independent.
func claimOnce(t *testing.T, s Store, _ Features) {
	w := pipeline.Window{Start: T0, End: T0.Add(time.Minute)}
	for i, want := range []bool{true, false, false} {
		got, err := s.ClaimPublish(ctx, w, []byte(fmt.Sprint("claim ", i)))
		if err != nil || got != want {
			t.Fatalf("claim %d: %v, %v; want %v", i, got, err, want)
		}
	}
	next := pipeline.Window{Start: w.End, End: w.End.Add(time.Minute)}
	if got, err := s.ClaimPublish(ctx, next, nil); err != nil || !got {
		t.Errorf("claim of the next window: %v, %v", got, err)
	}
}

// A claim made again with the same body finds its own marker and wins: the aggregator retries
// a claim whose call failed after the marker was in place (an answer lost, a sync that
// failed) with the same body, unique to its term, and must not take the window for another's
// (it would never be published). Any other body still loses.
func claimRecognisesItsOwnMarker(t *testing.T, s Store, _ Features) {
	w := pipeline.Window{Start: T0, End: T0.Add(time.Minute)}
	for i, c := range []struct {
		body string
		want bool
	}{{"term 1", true}, {"term 1", true}, {"term 2", false}, {"term 1", true}} {
		got, err := s.ClaimPublish(ctx, w, []byte(c.body))
		if err != nil || got != c.want {
			t.Fatalf("claim %d (%s): %v, %v; want %v", i, c.body, got, err, c.want)
		}
	}
}

// Claims racing for one window: exactly one wins.
func claimOnceConcurrently(t *testing.T, s Store, _ Features) {
	for round := range 5 {
		w := pipeline.Window{Start: T0.Add(time.Duration(round) * time.Minute)}
		w.End = w.Start.Add(time.Minute)
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.ClaimPublish(ctx, w, []byte(fmt.Sprint("claimer ", i)))
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					won++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if won != 1 {
			t.Errorf("round %d: %d of 8 concurrent claims won, want 1", round, won)
		}
	}
}

func stateCompareAndSwap(t *testing.T, s Store, _ Features) {
	if _, _, err := s.LoadState(ctx, "aggregator"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("LoadState of nothing: %v, want fs.ErrNotExist", err)
	}
	v1, ok, err := s.SaveState(ctx, "aggregator", []byte("one"), "")
	if err != nil || !ok || v1 == "" {
		t.Fatalf("first save: %q, %v, %v", v1, ok, err)
	}
	if _, ok, err := s.SaveState(ctx, "aggregator", []byte("two"), ""); err != nil || ok {
		t.Fatalf("a save expecting no object succeeded over one: %v, %v", ok, err)
	}
	v2, ok, err := s.SaveState(ctx, "aggregator", []byte("two"), v1)
	if err != nil || !ok || v2 == "" || v2 == v1 {
		t.Fatalf("save over v1: %q, %v, %v", v2, ok, err)
	}
	if _, ok, err := s.SaveState(ctx, "aggregator", []byte("stale"), v1); err != nil || ok {
		t.Fatalf("a save expecting the old version succeeded: %v, %v", ok, err)
	}
	data, v, err := s.LoadState(ctx, "aggregator")
	if err != nil || string(data) != "two" || v != v2 {
		t.Fatalf("LoadState = %q, %q, %v; want two, %q", data, v, err, v2)
	}
	// The same bytes saved again are still a new write (the version may repeat: equal content).
	if _, ok, err := s.SaveState(ctx, "aggregator", []byte("two"), v2); err != nil || !ok {
		t.Fatalf("save of equal bytes: %v, %v", ok, err)
	}
	if _, _, err := s.LoadState(ctx, "other"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("another name sees the state: %v", err)
	}
}

// Writers racing from one version: exactly one succeeds, and the object is its.
func stateSwapConcurrently(t *testing.T, s Store, _ Features) {
	v, ok, err := s.SaveState(ctx, "race", []byte("base"), "")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	for round := range 5 {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var winners []string
		var newV string
		for i := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				data := fmt.Sprintf("round %d writer %d", round, i)
				nv, ok, err := s.SaveState(ctx, "race", []byte(data), v)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					winners = append(winners, data)
					newV = nv
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("round %d: %d writers succeeded from one version: %v", round, len(winners), winners)
		}
		data, lv, err := s.LoadState(ctx, "race")
		if err != nil || string(data) != winners[0] || lv != newV {
			t.Fatalf("round %d: state %q (%q), want the winner's %q (%q)", round, data, lv, winners[0], newV)
		}
		v = newV
	}
}

func canceledContext(t *testing.T, s Store, _ Features) {
	writeAll(t, s, 1)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	w := pipeline.Window{Start: T0, End: T0.Add(time.Minute)}
	errs := map[string]error{
		"WritePartial": s.WritePartial(cctx, T0, parts[0], []byte("x")),
		"ListPartials": s.ListPartials(cctx, T0, func(time.Time, pipeline.Partition) bool { return true }),
	}
	_, errs["ReadPartial"] = s.ReadPartial(cctx, T0, parts[0])
	_, errs["ClaimPublish"] = s.ClaimPublish(cctx, w, nil)
	_, _, errs["SaveState"] = s.SaveState(cctx, "x", nil, "")
	_, _, errs["LoadState"] = s.LoadState(cctx, "x")
	errs["WriteLoad"] = s.WriteLoad(cctx, T0, "w", []byte("x"))
	errs["ListLoads"] = s.ListLoads(cctx, T0, func(string) bool { return true })
	_, errs["ReadLoad"] = s.ReadLoad(cctx, T0, "w")
	names := make([]string, 0, len(errs))
	for n := range errs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if !errors.Is(errs[n], context.Canceled) {
			t.Errorf("%s with a canceled context: %v, want context.Canceled", n, errs[n])
		}
	}
}

// The workers the suite writes load reports for: names that need escaping included.
var workers = []string{"0f1e2d3c", "ip-10-0-1-7/4242", "w 2", "w3"} // more than one S3 test page

func loads(t *testing.T, s Store, start time.Time) []string {
	t.Helper()
	var got []string
	if err := s.ListLoads(ctx, start, func(w string) bool {
		got = append(got, w)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	return got
}

// A period's load reports list as their workers, each once, and nothing of another period; a
// report reads back as last written; one never written is fs.ErrNotExist; a listing stops
// when asked.
func loadWriteReadList(t *testing.T, s Store, _ Features) {
	if got := loads(t, s, T0); len(got) != 0 {
		t.Fatalf("an empty store lists %v", got)
	}
	if _, err := s.ReadLoad(ctx, T0, workers[0]); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadLoad of nothing: %v, want fs.ErrNotExist", err)
	}
	next := T0.Add(time.Minute)
	for _, w := range workers {
		for _, start := range []time.Time{T0, next} {
			if err := s.WriteLoad(ctx, start, w, []byte("load "+w+" "+start.Format(time.RFC3339))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.WriteLoad(ctx, T0, workers[1], []byte("again")); err != nil {
		t.Fatal(err)
	}
	want := slices.Sorted(slices.Values(workers))
	for _, start := range []time.Time{T0, next} {
		if got := loads(t, s, start); !slices.Equal(got, want) {
			t.Errorf("period %v lists %q, want %q", start, got, want)
		}
	}
	if got := loads(t, s, T0.Add(-time.Minute)); len(got) != 0 {
		t.Errorf("an earlier period lists %q", got)
	}
	if got := loads(t, s, T0.Add(30*time.Second)); len(got) != 0 {
		t.Errorf("a period between two lists %q", got)
	}
	for _, c := range []struct {
		start time.Time
		w     string
		want  string
	}{
		{T0, workers[0], "load " + workers[0] + " " + T0.Format(time.RFC3339)},
		{T0, workers[1], "again"},
		{next, workers[2], "load " + workers[2] + " " + next.Format(time.RFC3339)},
	} {
		if b, err := s.ReadLoad(ctx, c.start, c.w); err != nil || string(b) != c.want {
			t.Errorf("ReadLoad(%v, %q) = %q, %v; want %q", c.start, c.w, b, err, c.want)
		}
	}
	calls := 0
	if err := s.ListLoads(ctx, T0, func(string) bool { calls++; return false }); err != nil || calls != 1 {
		t.Errorf("a listing asked to stop went on: %d calls, %v", calls, err)
	}
}

func loadListSkipsForeignObjects(t *testing.T, s Store, f Features) {
	if f.AddForeign == nil {
		t.Skip("the harness cannot add foreign objects")
	}
	if err := s.WriteLoad(ctx, T0, workers[0], []byte("x")); err != nil {
		t.Fatal(err)
	}
	prefix := "kind=load/t=20261121T130000Z/"
	for _, k := range []string{
		prefix + "worker=0f1e2d3c.msgpack.tmp-1",
		prefix + ".tmp-2",
		prefix + "notes.txt",
		prefix + "worker=a%2fb.msgpack", // an escape the layout never writes
	} {
		f.AddForeign(t, k)
	}
	if got := loads(t, s, T0); !slices.Equal(got, workers[:1]) {
		t.Errorf("listing with foreign objects: %q", got)
	}
}
