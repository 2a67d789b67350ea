package pipeline

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

type commitLog struct{ at []Checkpoint }

func (c *commitLog) Commit(_ Partition, cp Checkpoint) { c.at = append(c.at, cp) }

func (c *commitLog) last() Checkpoint { return c.at[len(c.at)-1] }

func testHolds(c Committer) *holds {
	return newHolds(Partition{Stream: "s", ID: "0"}, int64(10*time.Second), c, NewMetrics(prometheus.NewRegistry()))
}

func pos(o int64) Position { return Position{Offset: o} }

// Holds released in any order commit exactly what is durable: everything before the earliest
// hold not released, with the closedThrough that hold was taken at, or everything processed
// once none is. A flood of dead letters holds many groups at once, so this runs with thousands.
func TestHoldsCommitTheEarliestOpenHold(t *testing.T) {
	const n = 5000
	var c commitLog
	h := testHolds(&c)
	acks := make([]ack, n)
	for i := range n { // record i at offset 10+i, each held (as dead-letter groups are)
		acks[i] = h.take(pos(int64(10+i)), pos(int64(9+i)), i > 0, int64(i))
	}
	h.processed(pos(10+n-1), n)
	if len(c.at) != 0 {
		t.Fatalf("committed %v while the first record was held", c.at)
	}
	r := rand.New(rand.NewPCG(1, 2))
	released := make([]bool, n)
	for k, i := range r.Perm(n) {
		acks[i].durable()
		released[i] = true
		first := 0 // the earliest record still held
		for first < n && released[first] {
			first++
		}
		if got := h.pending(); got != n-k-1 {
			t.Fatalf("after %d releases: %d pending, want %d", k+1, got, n-k-1)
		}
		if first == 0 {
			continue
		}
		// The record before it, and the closedThrough its hold was taken at; all n processed
		// once none is held.
		want := Checkpoint{Position: pos(int64(9 + first)), State: CheckpointState{Period: 10 * time.Second, ClosedThrough: int64(first)}}
		if len(c.at) == 0 || c.last().String() != want.String() {
			t.Fatalf("after releasing record %d (%d released): last commit %v, want %v", i, k+1, c.at[max(0, len(c.at)-1):], want)
		}
	}
	for k := 1; k < len(c.at); k++ {
		if c.at[k].Position.Offset <= c.at[k-1].Position.Offset {
			t.Fatalf("commit point went from %v to %v", c.at[k-1], c.at[k])
		}
	}
	select {
	case <-h.drained():
	default:
		t.Fatal("drained is not closed with no hold open")
	}
	acks[0].durable() // twice: nothing changes
	if h.pending() != 0 {
		t.Fatal("a second release changed the count")
	}
}

// An abandoned hold caps the commit point below its first record for good, whatever is
// released after it; drained waits for every hold not abandoned.
func TestHoldsAbandonCapsTheCommitPoint(t *testing.T) {
	var c commitLog
	h := testHolds(&c)
	a := h.take(pos(1), pos(0), true, 0)
	b := h.take(pos(5), pos(4), true, 0)
	d := h.take(pos(9), pos(8), true, 0)
	h.processed(pos(12), 0)
	wait := h.drained()
	b.abandon()
	a.durable()
	d.durable()
	select {
	case <-wait:
	default:
		t.Fatal("drained is not closed once every hold is released or abandoned")
	}
	// 0 (before a) once processed; then 4, before the abandoned b, and never past it.
	if len(c.at) != 2 || c.at[0].Position.Offset != 0 || c.at[1].Position.Offset != 4 {
		t.Fatalf("commits %v, want 0 then 4: capped below the abandoned hold's first record", c.at)
	}
	// An abandoned first hold with nothing before it: nothing is ever committed.
	var c2 commitLog
	h2 := testHolds(&c2)
	x := h2.take(pos(0), Position{}, false, 0)
	h2.take(pos(3), pos(2), true, 0).durable()
	h2.processed(pos(5), 0)
	x.abandon()
	if len(c2.at) != 0 {
		t.Errorf("committed %v past an abandoned first record", c2.at)
	}
}

// A window released while an earlier hold is live is a straddler of every commit point at or
// after its first record whose closedThrough is before its end: the checkpoint lists it, with
// the last position counted in it, until a commit point's closedThrough passes its end.
func TestHoldsCheckpointListsStraddlers(t *testing.T) {
	const s = int64(10 * time.Second)
	var c commitLog
	h := testHolds(&c)
	wa := h.take(pos(1), pos(0), true, 0) // window [0, 10 s), first record 1
	wb := h.take(pos(3), pos(2), true, 0) // window [10 s, 20 s), opened at record 3 with a still open
	wc := h.take(pos(7), pos(6), true, s) // window [20 s, 30 s), opened once a had closed
	h.processed(pos(9), 2*s)
	wa.win = &closedSpan{start: 0, end: s, last: pos(5)}
	wa.durable()
	// Commit point before b's first record: window a (records 1..5) straddles it.
	want := "weir1 w=10000000000 p=2 ct=0 s=0@5"
	if got := c.last().String(); got != want {
		t.Fatalf("checkpoint %s, want %s", got, want)
	}
	wb.win = &closedSpan{start: s, end: 2 * s, last: pos(8)}
	wb.durable()
	// Before c's first record, closed through 10 s: a ended there, b (records 3..8) straddles.
	want = "weir1 w=10000000000 p=6 ct=10000000000 s=10000000000@8"
	if got := c.last().String(); got != want {
		t.Fatalf("checkpoint %s, want %s", got, want)
	}
	h.processed(pos(9), 3*s) // the watermark passes 30 s: c closes
	wc.win = &closedSpan{start: 2 * s, end: 3 * s, last: pos(9)}
	wc.durable()
	want = "weir1 w=10000000000 p=9 ct=30000000000"
	if got := c.last().String(); got != want {
		t.Fatalf("checkpoint %s, want %s: nothing held, all processed", got, want)
	}
}

// A restored checkpoint is the commit point already stored (not committed again), its
// straddlers stay straddlers of later commit points until a closedThrough passes them, and a
// commit point that would need more than MaxStraddlers is held back.
func TestHoldsRestoreAndHoldBack(t *testing.T) {
	const s = int64(10 * time.Second)
	var c commitLog
	h := testHolds(&c)
	h.restore(Checkpoint{Position: pos(100), State: CheckpointState{Period: 10 * time.Second, ClosedThrough: s,
		Straddlers: []Straddler{{Start: s, Last: pos(104)}}}})
	h.processed(pos(100), s)
	if len(c.at) != 0 {
		t.Fatalf("committed %v: the restored checkpoint again", c.at)
	}
	// Records 101..104 were the straddler's (swallowed); a window [20 s, 30 s) opens at 105.
	w := h.take(pos(105), pos(104), true, s)
	h.processed(pos(106), s)
	if got, want := c.last().String(), "weir1 w=10000000000 p=104 ct=10000000000 s=10000000000@104"; got != want {
		t.Fatalf("checkpoint %s, want %s: the restored straddler is still open at ct 10 s", got, want)
	}
	h.processed(pos(110), 3*s) // the watermark passes 30 s: the window closes
	w.win = &closedSpan{start: 2 * s, end: 3 * s, last: pos(110)}
	w.durable()
	if got, want := c.last().String(), "weir1 w=10000000000 p=110 ct=30000000000"; got != want {
		t.Fatalf("checkpoint %s, want %s", got, want)
	}
	h.advance(4 * s) // the wall clock moves closedThrough with nothing held: committed
	if got, want := c.last().String(), "weir1 w=10000000000 p=110 ct=40000000000"; got != want {
		t.Fatalf("checkpoint %s, want %s", got, want)
	}

	var c2 commitLog
	h2 := testHolds(&c2)
	first := h2.take(pos(0), Position{}, false, 0)
	var wins []ack
	for i := range MaxStraddlers + 1 {
		wins = append(wins, h2.take(pos(int64(1+i)), pos(int64(i)), true, 0))
	}
	h2.processed(pos(200), 0)
	for i, a := range wins {
		a.win = &closedSpan{start: int64(i+1) * s, end: int64(i+2) * s, last: pos(200)}
		a.durable()
	}
	late := h2.take(pos(201), pos(200), true, 0)
	first.durable() // the commit point would be 200, with MaxStraddlers+1 windows open at it
	if len(c2.at) != 0 {
		t.Errorf("committed %v with %d straddlers", c2.last(), MaxStraddlers+1)
	}
	if n := testutil.ToFloat64(h2.heldBack); n != 1 {
		t.Errorf("held back %v times, want 1", n)
	}
	_ = late
}
