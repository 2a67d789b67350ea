package pipeline

import (
	"math/rand/v2"
	"testing"
)

type commitLog struct{ at []int64 }

func (c *commitLog) Commit(_ Partition, pos Position) { c.at = append(c.at, pos.Offset) }

// Holds released in any order commit exactly what is durable: everything before the earliest
// hold still open, or everything processed once none is. A flood of dead letters holds one
// hold per record, so this runs with thousands at once.
func TestHoldsCommitTheEarliestOpenHold(t *testing.T) {
	const n = 5000
	var c commitLog
	h := newHolds(Partition{Stream: "s", ID: "0"}, &c, func() { t.Error("late ack before revoke") })
	ids := make([]uint64, n)
	for i := range n { // record i at offset 10+i, each held (as dead letters are)
		ids[i] = h.take(Position{Offset: int64(10 + i)}, Position{Offset: int64(9 + i)}, i > 0)
	}
	h.processed(Position{Offset: 10 + n - 1})
	if len(c.at) != 0 {
		t.Fatalf("committed %v while the first record was held", c.at)
	}
	r := rand.New(rand.NewPCG(1, 2))
	order := r.Perm(n)
	released := make([]bool, n)
	for k, i := range order {
		h.release(ids[i])
		released[i] = true
		first := 0 // the earliest record still held
		for first < n && released[first] {
			first++
		}
		want := int64(9 + first) // the record before it; all n processed once none is held
		if got := h.pending(); got != n-k-1 {
			t.Fatalf("after %d releases: %d pending, want %d", k+1, got, n-k-1)
		}
		if first == 0 {
			continue
		}
		if len(c.at) == 0 || c.at[len(c.at)-1] != want {
			t.Fatalf("after releasing record %d (%d released): commits end %v, want %d", i, k+1, c.at[max(0, len(c.at)-3):], want)
		}
	}
	for k := 1; k < len(c.at); k++ {
		if c.at[k] <= c.at[k-1] {
			t.Fatalf("commit point went from %d to %d", c.at[k-1], c.at[k])
		}
	}
	select {
	case <-h.drained():
	default:
		t.Fatal("drained is not closed with no hold open")
	}
	h.release(ids[0]) // twice: nothing changes
	if h.pending() != 0 {
		t.Fatal("a second release changed the count")
	}
}

// An abandoned hold caps the commit point below its first record for good, whatever is
// released after it; drained waits for every hold, abandoned ones included.
func TestHoldsAbandonCapsTheCommitPoint(t *testing.T) {
	var c commitLog
	h := newHolds(Partition{Stream: "s", ID: "0"}, &c, func() {})
	a := h.take(Position{Offset: 1}, Position{Offset: 0}, true)
	b := h.take(Position{Offset: 5}, Position{Offset: 4}, true)
	d := h.take(Position{Offset: 9}, Position{Offset: 8}, true)
	h.processed(Position{Offset: 12})
	wait := h.drained()
	h.abandon(b)
	h.release(a)
	h.release(d)
	select {
	case <-wait:
	default:
		t.Fatal("drained is not closed once every hold is released or abandoned")
	}
	// 0 (before a) once processed; then 4, before the abandoned b, and never past it.
	if len(c.at) != 2 || c.at[0] != 0 || c.at[1] != 4 {
		t.Fatalf("commits %v, want [0 4]: capped below the abandoned hold's first record", c.at)
	}
}
