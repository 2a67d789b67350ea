package contrib

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/pipeline/sketch"
)

// Observe gives the distinct counter only the keys the Space-Saving sketch did not track
// (state.go). That must leave the counter exactly as adding every key would: through
// evictions (an evicted key that comes back is new to the sketch again), merges of states and
// states restored from their encoding. Each state here is shadowed by one whose distinct
// counter is also given every key; their encodings must stay byte for byte the same.
func TestDistinctCounterSkipsOnlyKeysItHas(t *testing.T) {
	plan := decode.NewPlan(decode.JSON)
	// 8 counters against up to 500 keys: most records evict; precision 8 goes dense past 16
	// distinct keys, so both of the counter's forms are crossed.
	op, err := New(mustRule(t, "bench", benchRule), plan, Options{TopN: 2, TargetError: 0.125, HLLPrecision: 8})
	if err != nil {
		t.Fatal(err)
	}
	dec := plan.NewDecoder()
	vals := make([]decode.Value, plan.Len())
	r := rand.New(rand.NewPCG(5, 6))
	rec := &pipeline.Record{}
	// observe feeds n events over a universe of keys to st, and to shadow with every key also
	// added to its distinct counter.
	observe := func(st, shadow *State, n, universe int) {
		for range n {
			k := r.IntN(universe)
			doc := fmt.Appendf(nil, `{"tenant":"t-%d","path":"/p/%d","method":"GET","bytes":%d}`, k%7, k, 1+r.IntN(100))
			if err := dec.Decode(doc, vals); err != nil {
				t.Fatal(err)
			}
			st.Observe(rec, vals)
			shadow.Observe(rec, vals)
			shadow.hll.Add(sketch.HashKey(shadow.buf))
		}
	}
	encode := func(st *State) []byte {
		var buf bytes.Buffer
		if err := msgpack.NewEncoder(&buf).Encode(st); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	same := func(label string, st, shadow *State) {
		t.Helper()
		if a, b := encode(st), encode(shadow); !bytes.Equal(a, b) {
			t.Fatalf("%s: the state differs from the one whose distinct counter saw every key", label)
		}
	}
	restore := func(st *State) *State {
		out := op.newState()
		if err := msgpack.NewDecoder(bytes.NewReader(encode(st))).Decode(out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, universe := range []int{5, 12, 40, 500} {
		a, as := op.newState(), op.newState()
		observe(a, as, 3000, universe)
		same(fmt.Sprintf("%d keys", universe), a, as)
		b, bs := op.newState(), op.newState()
		observe(b, bs, 2000, universe)
		if err := a.Merge(b); err != nil {
			t.Fatal(err)
		}
		if err := as.Merge(bs); err != nil {
			t.Fatal(err)
		}
		same(fmt.Sprintf("%d keys, merged", universe), a, as)
		observe(a, as, 2000, universe)
		same(fmt.Sprintf("%d keys, after the merge", universe), a, as)
		c, cs := restore(a), restore(as)
		observe(c, cs, 2000, universe)
		same(fmt.Sprintf("%d keys, restored", universe), c, cs)
	}
}
