package sketch

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/weirstream/weir/internal/benchclock"
)

// checkBounds verifies the Space-Saving guarantees against exact totals.
func checkBounds(t *testing.T, label string, s *SpaceSaving, exact map[string]float64, total float64) {
	t.Helper()
	if b := s.Bound(); b > total/float64(s.K())*(1+1e-12) {
		t.Errorf("%s: Bound %v above N/K %v", label, b, total/float64(s.K()))
	}
	tracked := map[string]bool{}
	for _, c := range s.Counters() {
		tracked[c.Key] = true
		tv := exact[c.Key]
		if tv > c.Count+1e-9 || tv < c.Count-c.Err-1e-9 {
			t.Errorf("%s: %s true %v outside [%v, %v]", label, c.Key, tv, c.Count-c.Err, c.Count)
		}
		if c.Err > s.Bound()+1e-9 {
			t.Errorf("%s: Err %v above Bound %v", label, c.Err, s.Bound())
		}
	}
	for k, v := range exact {
		if !tracked[k] && v > s.Bound()+1e-9 {
			t.Errorf("%s: untracked %s has %v above Bound %v", label, k, v, s.Bound())
		}
	}
}

func TestSpaceSavingExactWhileRoomy(t *testing.T) {
	s := NewSpaceSaving(10)
	for i := range 100 {
		s.Add([]byte("k"+strconv.Itoa(i%7)), float64(i))
	}
	if s.Bound() != 0 || s.Len() != 7 {
		t.Fatalf("bound %v len %d", s.Bound(), s.Len())
	}
	for _, c := range s.Counters() {
		if c.Err != 0 {
			t.Fatalf("%+v", c)
		}
	}
}

func TestSpaceSavingBoundsAndMerges(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	zipf := rand.NewZipf(rng, 1.1, 1, 20_000)
	const parts, k = 16, 64
	exact := map[string]float64{}
	var total float64
	sketches := make([]*SpaceSaving, parts)
	for p := range sketches {
		sketches[p] = NewSpaceSaving(k)
		pe := map[string]float64{}
		var pt float64
		for range 5_000 {
			key := "k" + strconv.FormatUint(zipf.Uint64(), 10)
			w := float64(1 + rng.IntN(10))
			sketches[p].Add([]byte(key), w)
			exact[key] += w
			pe[key] += w
			total += w
			pt += w
		}
		checkBounds(t, "partial "+strconv.Itoa(p), sketches[p], pe, pt)
	}
	// Chain merge.
	chain := NewSpaceSaving(k)
	for _, s := range sketches {
		chain.Merge(s)
	}
	checkBounds(t, "chain", chain, exact, total)
	// Tree merge of copies (Merge leaves its argument unchanged).
	level := sketches
	for len(level) > 1 {
		var next []*SpaceSaving
		for i := 0; i < len(level); i += 2 {
			m := NewSpaceSaving(k)
			m.Merge(level[i])
			m.Merge(level[i+1])
			next = append(next, m)
		}
		level = next
	}
	checkBounds(t, "tree", level[0], exact, total)
	// Observing after merging keeps the guarantees.
	for range 2_000 {
		key := "k" + strconv.FormatUint(zipf.Uint64(), 10)
		level[0].Add([]byte(key), 1)
		exact[key]++
		total++
	}
	checkBounds(t, "tree then observe", level[0], exact, total)
	t.Logf("N/K %.1f, bounds: chain %.1f, tree %.1f", total/k, chain.Bound(), level[0].Bound())
}

func TestSpaceSavingRestoreRejects(t *testing.T) {
	s := NewSpaceSaving(2)
	cases := map[string][]Counter{
		"too many":  {{Key: "a"}, {Key: "b"}, {Key: "c"}},
		"duplicate": {{Key: "a", Count: 1}, {Key: "a", Count: 2}},
		"NaN":       {{Key: "a", Count: math.NaN()}},
		"neg err":   {{Key: "a", Count: 1, Err: -1}},
	}
	for name, c := range cases {
		if s.Restore(c, 0) {
			t.Errorf("%s accepted", name)
		}
	}
	if s.Restore(nil, -1) || s.Restore(nil, math.Inf(1)) {
		t.Error("bad floor accepted")
	}
	if !s.Restore([]Counter{{Key: "a", Count: 3, Err: 1}, {Key: "b", Count: 1}}, 0.5) || s.Counters()[0].Key != "a" {
		t.Error("valid restore refused")
	}
}

func TestHLLMergeAndRestore(t *testing.T) {
	a, b := NewHLL(8), NewHLL(8)
	for i := range 10 {
		a.Add(mix(uint64(i)))
	}
	for i := range 5000 {
		b.Add(mix(uint64(i + 5)))
	}
	if !a.Exact() || b.Exact() {
		t.Fatal("sparse/dense switch")
	}
	sparse := NewHLL(8)
	sparse.Merge(a)
	if !sparse.Exact() || sparse.Estimate() != 10 {
		t.Fatalf("sparse merge: %v", sparse.Estimate())
	}
	if !a.Merge(b) || a.Exact() {
		t.Fatal("merge into sparse did not densify")
	}
	if rel := a.Estimate()/5005 - 1; math.Abs(rel) > 4*1.04/16 {
		t.Fatalf("merged estimate %v", a.Estimate())
	}
	if a.Merge(NewHLL(9)) {
		t.Fatal("precision mismatch merged")
	}
	regs := append([]uint8(nil), a.Registers()...)
	c := NewHLL(8)
	if !c.RestoreDense(regs) || c.Estimate() != a.Estimate() {
		t.Fatal("dense restore")
	}
	regs[3] = 64
	if c.RestoreDense(regs) || c.RestoreDense(regs[:10]) {
		t.Fatal("invalid registers accepted")
	}
	if c.RestoreSparse(make([]uint64, c.SparseLimit()+1)) {
		t.Fatal("oversized exact set accepted")
	}
}

func BenchmarkSpaceSavingAddTracked(b *testing.B) {
	s := NewSpaceSaving(1000)
	keys := make([][]byte, 500)
	for i := range keys {
		keys[i] = []byte("tenant-" + strconv.Itoa(i) + "|/api/v1/items")
		s.Add(keys[i], 1)
	}
	b.ReportAllocs()
	i := 0
	clock := benchclock.Start()
	for b.Loop() {
		s.Add(keys[i], 1)
		if i++; i == len(keys) {
			i = 0
		}
	}
	clock.Report(b)
}

// mix is splitmix64's finaliser: a well-mixed 64-bit hash of i.
func mix(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ x>>30) * 0xBF58476D1CE4E5B9
	x = (x ^ x>>27) * 0x94D049BB133111EB
	return x ^ x>>31
}
