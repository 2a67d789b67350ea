package contrib

import (
	"fmt"
	"runtime"
	"strconv"
	"testing"

	"github.com/weirstream/weir/internal/benchclock"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
)

// benchRule has 2 keys and 1 filter, the shape the per-record target is set for.
const benchRule = `{"Schema":{"Name":"CloudWatchLogRule","Version":1},"LogGroupNames":["s"],"LogFormat":"JSON",
	"Contribution":{"Keys":["$.tenant","$.path"],"ValueOf":"$.bytes",
	"Filters":[{"Match":"$.method","In":["GET","PUT"]}]},"AggregateOn":"Sum"}`

// benchEvents returns decoded events over nKeys distinct contributors.
func benchEvents(tb testing.TB, plan *decode.Plan, nKeys int) [][]decode.Value {
	dec := plan.NewDecoder()
	var out [][]decode.Value
	for i := range nKeys {
		doc := fmt.Sprintf(`{"ts":"2026-11-21T13:00:00.123Z","tenant":"t-%04d","user":"u-1234","path":"/api/v1/items/%d","method":"GET","status":200,"bytes":%d,"latency_ms":12.5}`, i%97, i, 100+i)
		vals := make([]decode.Value, plan.Len())
		if err := dec.Decode([]byte(doc), vals); err != nil {
			tb.Fatal(err)
		}
		// Detach from the decoder's scratch: each event keeps its own bytes.
		for j := range vals {
			vals[j].Bytes = append([]byte(nil), vals[j].Bytes...)
		}
		out = append(out, vals)
	}
	return out
}

func benchState(tb testing.TB) (*State, [][]decode.Value) {
	plan := decode.NewPlan(decode.JSON)
	op, err := New(mustRule(tb, "bench", benchRule), plan, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	events := benchEvents(tb, plan, 500) // fewer than the 1000 counters: all tracked
	st := op.newState()
	for _, e := range events {
		st.Observe(&pipeline.Record{}, e)
	}
	return st, events
}

// BenchmarkObserve is the per-record cost of the rule for contributors already tracked.
func BenchmarkObserve(b *testing.B) {
	st, events := benchState(b)
	rec := &pipeline.Record{}
	b.ReportAllocs()
	i := 0
	clock := benchclock.Start()
	for b.Loop() {
		st.Observe(rec, events[i])
		i++
		if i == len(events) {
			i = 0
		}
	}
	clock.Report(b)
}

// BenchmarkDecodeAndObserve adds decoding the ~200-byte JSON record.
func BenchmarkDecodeAndObserve(b *testing.B) {
	plan := decode.NewPlan(decode.JSON)
	op, err := New(mustRule(b, "bench", benchRule), plan, Options{})
	if err != nil {
		b.Fatal(err)
	}
	var docs [][]byte
	for i := range 500 {
		docs = append(docs, fmt.Appendf(nil, `{"ts":"2026-11-21T13:00:00.123Z","tenant":"t-%04d","user":"u-1234","path":"/api/v1/items/%d","method":"GET","status":200,"bytes":%d,"latency_ms":12.5}`, i%97, i, 100+i))
	}
	dec := plan.NewDecoder()
	vals := make([]decode.Value, plan.Len())
	st := op.newState()
	rec := &pipeline.Record{}
	b.ReportAllocs()
	i := 0
	clock := benchclock.Start()
	for b.Loop() {
		if err := dec.Decode(docs[i], vals); err != nil {
			b.Fatal(err)
		}
		st.Observe(rec, vals)
		i++
		if i == len(docs) {
			i = 0
		}
	}
	clock.Report(b)
}

func TestObserveNoAllocForTrackedKeys(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	st, events := benchState(t)
	allocs := testing.AllocsPerRun(1000, func() {
		for _, e := range events[:50] {
			st.Observe(&pipeline.Record{}, e)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per 50 tracked records", allocs)
	}
}

// TestMemoryPerRuleWindow measures the heap a full state takes (K contributors tracked and
// the distinct counter dense) and checks MemoryBytes against it.
func TestMemoryPerRuleWindow(t *testing.T) {
	if raceEnabled {
		t.Skip("heap measurements are meaningless under the race detector")
	}
	plan := decode.NewPlan(decode.JSON)
	op, err := New(mustRule(t, "mem", benchRule), plan, Options{})
	if err != nil {
		t.Fatal(err)
	}
	vals := []decode.Value{{}, {}, {Kind: decode.Number, Num: 1, Bytes: []byte("1")}, {Kind: decode.String, Bytes: []byte("GET")}}
	idx := map[string]int{}
	for _, f := range []string{"$.tenant", "$.path", "$.bytes", "$.method"} {
		idx[f], _ = plan.Add(f)
	}
	fill := func(st *State) {
		for i := range 20_000 {
			vals[idx["$.tenant"]] = decode.Value{Kind: decode.String, Bytes: []byte("t-" + strconv.Itoa(i%97))}
			vals[idx["$.path"]] = decode.Value{Kind: decode.String, Bytes: []byte("/api/v1/items/" + strconv.Itoa(i))}
			vals[idx["$.bytes"]] = decode.Value{Kind: decode.Number, Num: 1, Bytes: []byte("1")}
			vals[idx["$.method"]] = decode.Value{Kind: decode.String, Bytes: []byte("GET")}
			st.Observe(&pipeline.Record{}, vals)
		}
	}
	const n = 20
	states := make([]*State, n)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range states {
		states[i] = op.newState()
		fill(states[i])
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perState := float64(after.HeapAlloc-before.HeapAlloc) / n
	est := states[0].MemoryBytes()
	t.Logf("one full rule window state (K=%d, 2 keys, dense HLL): %.0f KiB measured, MemoryBytes %d KiB", op.Counters(), perState/1024, est/1024)
	if float64(est) < perState/3 || float64(est) > perState*3 {
		t.Errorf("MemoryBytes %d far from the measured %.0f", est, perState)
	}
	runtime.KeepAlive(states)
}
