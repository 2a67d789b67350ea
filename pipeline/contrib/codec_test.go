package contrib

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// codecStates returns encoded states of different shapes: many counters with a dense distinct
// counter, a few with a sparse one, an empty one.
func codecStates(t *testing.T, op *Operator) [][]byte {
	t.Helper()
	var out [][]byte
	for _, s := range []stream{
		zipfStream("big", 100_000, 0.9, 30_000, false, true, 10),
		zipfStream("small", 50, 1.0, 500, false, true, 9),
		zipfStream("other big", 5_000, 1.1, 20_000, false, false, 11),
		zipfStream("tiny", 3, 1.0, 5, false, false, 2),
		{name: "empty"},
	} {
		st := op.newState()
		feed(st, s, s.events)
		data, err := msgpack.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}

// A State decoded into again (the aggregator decodes later partials into the states it has
// merged) holds exactly what a fresh State decoded from the same bytes holds: nothing of the
// state it held before, whether that had more counters, a dense distinct counter, or failed
// to decode.
func TestStateDecodeIntoUsedState(t *testing.T) {
	op := newOp(t, Options{TopN: 5, TargetError: 0.01})
	states := codecStates(t, op)
	reused := op.newState()
	order := []int{0, 1, 2, 3, 4, 0, 3, 2, 1, 4, 1, 0}
	for step, i := range order {
		if step == 5 {
			// A failed decode leaves the State empty, not half replaced.
			if err := msgpack.Unmarshal(states[0][:len(states[0])-3], reused); err == nil {
				t.Fatal("a truncated state decoded")
			}
			if reused.n != 0 || reused.ss.Len() != 0 || reused.hll.Estimate() != 0 {
				t.Fatalf("after a failed decode: n %v, %d counters, %v distinct", reused.n, reused.ss.Len(), reused.hll.Estimate())
			}
		}
		if step == 8 {
			// So does a merge and a Reset, as the aggregator does before reusing it.
			other := op.newState()
			if err := msgpack.Unmarshal(states[2], other); err != nil {
				t.Fatal(err)
			}
			if err := reused.Merge(other); err != nil {
				t.Fatal(err)
			}
			reused.Reset()
		}
		if err := msgpack.Unmarshal(states[i], reused); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		fresh := op.newState()
		if err := msgpack.Unmarshal(states[i], fresh); err != nil {
			t.Fatal(err)
		}
		a, _ := msgpack.Marshal(reused)
		b, _ := msgpack.Marshal(fresh)
		if !bytes.Equal(a, b) || !bytes.Equal(a, states[i]) {
			t.Errorf("step %d (state %d): a reused State encodes differently from a fresh one", step, i)
		}
		ra, _ := json.Marshal(reused.Report(testWindow))
		rb, _ := json.Marshal(fresh.Report(testWindow))
		if !bytes.Equal(ra, rb) {
			t.Errorf("step %d (state %d): reports differ:\n%s\n%s", step, i, ra, rb)
		}
	}
}

// Decoding into a State that has held a state as large allocates a few values, not a string
// per contributor: the aggregator decodes every partition's state of every rule each window,
// and a key string per counter (with its split key values, and the sketch's copy) was once
// 1,900 of the 2,100 allocations a partition's partial cost it.
func TestStateDecodeAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	op := newOp(t, Options{TopN: 5, TargetError: 0.01})
	states := codecStates(t, op)
	st := op.newState()
	for _, data := range states[:3] {
		if err := msgpack.Unmarshal(data, st); err != nil {
			t.Fatal(err)
		}
	}
	for i, data := range states[:3] {
		allocs := testing.AllocsPerRun(20, func() {
			if err := msgpack.Unmarshal(data, st); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 4 {
			t.Errorf("state %d (%d counters): %v allocations to decode, want at most 4", i, st.ss.Len(), allocs)
		}
	}
}
