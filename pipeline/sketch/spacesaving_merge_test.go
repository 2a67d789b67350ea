package sketch

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// Merging sketches fed fractional weights must give a state that Restore accepts: the summed
// lower bounds once came out a rounding error above the counts (Err = -1.4e-14 at trial 3 of
// this seed), and the merged partial could not be decoded.
func TestMergeFractionalWeightsRestores(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 2000 {
		a, b := NewSpaceSaving(4), NewSpaceSaving(4)
		for range 30 {
			a.Add([]byte(strconv.Itoa(r.IntN(6))), r.Float64()*10)
			b.Add([]byte(strconv.Itoa(r.IntN(6))), r.Float64()*10)
		}
		a.Merge(b)
		counters := a.Counters()
		for _, c := range counters {
			if c.Err < 0 {
				t.Fatalf("trial %d: merged counter %+v has a negative error", trial, c)
			}
		}
		if !NewSpaceSaving(4).Restore(counters, a.floor) {
			t.Fatalf("trial %d: Restore refused the merged counters %+v (floor %v)", trial, counters, a.floor)
		}
	}
}

// A merge allocates a few slices, not a string and a map entry per key: merging two full
// 1,000-counter sketches once took 2,500 allocations (a map of string keys, the counters as
// strings, then each key copied back into a slot). Merging into a sketch again allocates
// nothing: it reuses the memory its last merge worked in (the aggregator merges every
// partition's sketch of a rule into one, and fresh entry, order, slot and key arrays for each
// merge were 220 KB of the 516 KB it allocated per partition).
func TestMergeAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	const k = 1000
	parts := overlappingParts(k)
	var s *SpaceSaving
	for _, c := range []struct {
		what  string
		fresh bool
		want  float64
	}{{"an empty one", true, 20}, {"one that has merged before", false, 0}} {
		s = NewSpaceSaving(k)
		for range 3 {
			s.Merge(parts[0])
			s.Merge(parts[1])
		}
		allocs := testing.AllocsPerRun(20, func() {
			if c.fresh {
				s = NewSpaceSaving(k)
			}
			s.Merge(parts[0])
			s.Merge(parts[1])
		})
		if allocs > c.want {
			t.Errorf("%v allocations to merge two sketches into %s, want at most %v", allocs, c.what, c.want)
		}
	}
}

// Restoring into a sketch that has held as many keys allocates nothing: the keys go into its
// arena, not a buffer each.
func TestRestoreAgainAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	const k = 1000
	parts := overlappingParts(k)
	var es [2][]Entry
	for i, p := range parts[:2] {
		for _, c := range p.Counters() {
			es[i] = append(es[i], Entry{Key: []byte(c.Key), Count: c.Count, Err: c.Err})
		}
	}
	s := NewSpaceSaving(k)
	s.RestoreEntries(es[0], parts[0].Floor())
	s.RestoreEntries(es[1], parts[1].Floor())
	allocs := testing.AllocsPerRun(20, func() {
		if !s.RestoreEntries(es[0], parts[0].Floor()) || !s.RestoreEntries(es[1], parts[1].Floor()) {
			t.Fatal("refused")
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations to restore into a sketch that held as many keys, want 0", allocs)
	}
}
