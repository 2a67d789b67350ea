package sketch

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// sameSketch fails unless s and ref hold the same counters (bit for bit), bound and floor.
func sameSketch(t *testing.T, label string, s *SpaceSaving, ref *refSpaceSaving) {
	t.Helper()
	got, want := s.Counters(), ref.Counters()
	if len(got) != len(want) || s.Len() != ref.Len() {
		t.Fatalf("%s: %d counters, reference %d", label, len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Key != w.Key || math.Float64bits(g.Count) != math.Float64bits(w.Count) ||
			math.Float64bits(g.Err) != math.Float64bits(w.Err) {
			t.Fatalf("%s: counter %d is %+v, reference %+v", label, i, g, w)
		}
	}
	if math.Float64bits(s.Bound()) != math.Float64bits(ref.Bound()) ||
		math.Float64bits(s.Floor()) != math.Float64bits(ref.Floor()) {
		t.Fatalf("%s: bound %v floor %v, reference %v %v", label, s.Bound(), s.Floor(), ref.Bound(), ref.Floor())
	}
}

// propStream draws (key, weight) pairs: Zipf or uniform keys over a universe, weights that
// are integers (many equal counts, so heap ties decide evictions), fractions, or sometimes
// zero or negative.
type propStream struct {
	r        *rand.Rand
	zipf     *rand.Zipf
	universe int
	weights  string
	// long makes every other key longer than 16 bytes, so keys of both lengths take each
	// other's slots (and their buffers) on evictions and merges.
	long bool
}

func (p *propStream) next() ([]byte, float64) {
	var k uint64
	if p.zipf != nil {
		k = p.zipf.Uint64()
	} else {
		k = uint64(p.r.IntN(p.universe))
	}
	key := []byte("key-" + strconv.FormatUint(k, 10))
	if p.long && k%2 == 0 {
		key = append([]byte("a-key-longer-than-sixteen-bytes-"), key...)
	}
	switch p.weights {
	case "ones":
		return key, 1
	case "ints":
		return key, float64(1 + p.r.IntN(5))
	case "fractions":
		return key, p.r.Float64() * 10
	default: // "signed"
		switch p.r.IntN(10) {
		case 0:
			return key, -float64(p.r.IntN(4))
		case 1:
			return key, 0
		}
		return key, float64(p.r.IntN(8))
	}
}

var propHashes = map[string]func([]byte) uint64{
	"xxhash":    nil,
	"4 hashes":  func(b []byte) uint64 { return HashKey(b) & 3 },
	"same home": func(b []byte) uint64 { return HashKey(b) &^ 0xfff },
	"same tag":  func(b []byte) uint64 { return HashKey(b) &^ 0xffffff00 },
}

// TestSpaceSavingMatchesReference runs the same streams through the sketch and the
// implementation it replaced, comparing them as it goes, through evictions, negative weights,
// merges and restores, with the real hash and with colliding ones.
func TestSpaceSavingMatchesReference(t *testing.T) {
	seed := uint64(0)
	for hname, hash := range propHashes {
		for _, k := range []int{1, 2, 7, 64, 300} {
			for _, universe := range []int{3, 100, 5000} {
				for _, weights := range []string{"ones", "ints", "fractions", "signed"} {
					for _, zipf := range []bool{false, true} {
						for _, long := range []bool{false, true} {
							seed++
							name := hname + "/k=" + strconv.Itoa(k) + "/u=" + strconv.Itoa(universe) + "/" + weights
							if zipf {
								name += "/zipf"
							}
							if long {
								name += "/long"
							}
							propRun(t, name, seed, hash, k, universe, weights, zipf, long)
						}
					}
				}
			}
		}
	}
}

func propRun(t *testing.T, name string, seed uint64, hash func([]byte) uint64, k, universe int, weights string, zipf, long bool) {
	r := rand.New(rand.NewPCG(seed, 7))
	p := &propStream{r: r, universe: universe, weights: weights, long: long}
	if zipf {
		p.zipf = rand.NewZipf(r, 1.1, 1, uint64(universe-1))
	}
	newPair := func() (*SpaceSaving, *refSpaceSaving) {
		s := NewSpaceSaving(k)
		s.hash = hash
		return s, newRefSpaceSaving(k)
	}
	feed := func(label string, s *SpaceSaving, ref *refSpaceSaving, n int) {
		for i := range n {
			key, w := p.next()
			s.Add(key, w)
			ref.Add(key, w)
			if i%97 == 0 {
				sameSketch(t, name+" "+label, s, ref)
			}
		}
		sameSketch(t, name+" "+label, s, ref)
	}
	n := 2000
	a, aref := newPair()
	feed("stream", a, aref, n)
	// Merge two partials, then keep observing into the merged sketch.
	b, bref := newPair()
	feed("second stream", b, bref, n)
	a.Merge(b)
	aref.Merge(bref)
	sameSketch(t, name+" merged", a, aref)
	sameSketch(t, name+" merge argument", b, bref)
	feed("after merge", a, aref, n/2)
	// Merge into the merged sketch again, observing between: each merge works in the memory
	// the one before left, and the keys observed in between were written into its arena.
	for range 2 {
		b, bref := newPair()
		feed("another stream", b, bref, n/2)
		a.Merge(b)
		aref.Merge(bref)
		sameSketch(t, name+" merged again", a, aref)
		feed("after merging again", a, aref, n/4)
	}
	// Merge into an empty sketch and back (the tree-merge shape).
	e, eref := newPair()
	e.Merge(a)
	eref.Merge(aref)
	sameSketch(t, name+" merged into empty", e, eref)
	// Restore from the serialised form, in Counters order, then keep observing.
	c, cref := newPair()
	// A merged sketch always restores (a merge once left a rounding-error negative Err that
	// Restore refused: TestMergeFractionalWeightsRestores).
	if !c.Restore(a.Counters(), a.Floor()) || !cref.Restore(aref.Counters(), aref.Floor()) {
		t.Fatalf("%s: a merged sketch's counters did not restore", name)
	}
	sameSketch(t, name+" restored", c, cref)
	feed("after restore", c, cref, n/2)
	// Restore into a sketch that holds keys (its arena is reused), then keep observing.
	if !c.Restore(e.Counters(), e.Floor()) || !cref.Restore(eref.Counters(), eref.Floor()) {
		t.Fatalf("%s: a merged sketch's counters did not restore", name)
	}
	sameSketch(t, name+" restored again", c, cref)
	feed("after restoring again", c, cref, n/2)
	// A restore the sketch refuses leaves it usable.
	if len(a.Counters()) > 1 {
		dup := append(a.Counters(), a.Counters()[0])
		d, _ := newPair()
		if len(dup) <= k && d.Restore(dup, 0) {
			t.Fatalf("%s: duplicate key restored", name)
		}
	}
}

// TestSpaceSavingAddHashed: AddHashed with HashKey is Add.
func TestSpaceSavingAddHashed(t *testing.T) {
	s, o := NewSpaceSaving(16), NewSpaceSaving(16)
	r := rand.New(rand.NewPCG(9, 9))
	for range 5000 {
		key := []byte("k" + strconv.Itoa(r.IntN(100)))
		s.Add(key, 1)
		o.AddHashed(key, HashKey(key), 1)
	}
	ref := newRefSpaceSaving(16)
	ref.Restore(s.Counters(), s.Floor())
	sameSketch(t, "AddHashed", o, ref)
}

// TestSpaceSavingEvictionReusesKeys: once every slot has held a key as long as the newcomers,
// evictions do not allocate.
func TestSpaceSavingEvictionReusesKeys(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	s := NewSpaceSaving(100)
	keys := make([][]byte, 10_000)
	for i := range keys {
		keys[i] = []byte("user-" + strconv.Itoa(10_000+i))
	}
	for _, k := range keys {
		s.Add(k, 1)
	}
	i := 0
	allocs := testing.AllocsPerRun(100, func() {
		for range 100 {
			s.Add(keys[i%len(keys)], 1)
			i += 7
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per 100 evictions", allocs)
	}
}
