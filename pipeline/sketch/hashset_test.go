package sketch

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestHashSetMatchesMap adds hashes from several distributions (0 included, and hashes that
// differ only in their high or only in their low bits) and checks membership, size and the
// listed content against a map after every step, through the table's growth.
func TestHashSetMatchesMap(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 2))
	draws := map[string]func(i int) uint64{
		"random":    func(int) uint64 { return r.Uint64() },
		"small":     func(int) uint64 { return uint64(r.IntN(3000)) },
		"high bits": func(int) uint64 { return uint64(r.IntN(3000)) << 52 },
		"repeats":   func(i int) uint64 { return mix(uint64(r.IntN(1 + i/2))) },
	}
	for name, draw := range draws {
		t.Run(name, func(t *testing.T) {
			var s hashSet
			model := map[uint64]bool{}
			for i := range 4000 {
				x := draw(i)
				if s.has(x) != model[x] {
					t.Fatalf("has(%#x) = %v before add", x, s.has(x))
				}
				if !model[x] {
					s.add(x)
					model[x] = true
				}
				if !s.has(x) || s.Len() != len(model) {
					t.Fatalf("after add(%#x): has %v, len %d want %d", x, s.has(x), s.Len(), len(model))
				}
				if 4*s.n > 3*len(s.cells) {
					t.Fatalf("%d hashes in %d cells", s.n, len(s.cells))
				}
				if i%500 == 0 {
					if s.has(0) != model[0] || s.has(^uint64(0)) != model[^uint64(0)] {
						t.Fatal("has of an absent hash")
					}
				}
			}
			got := s.appendTo(nil)
			slices.Sort(got)
			want := make([]uint64, 0, len(model))
			for x := range model {
				want = append(want, x)
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("listed %d hashes, want %d", len(got), len(want))
			}
		})
	}
}

// TestHLLSparseSet: the exact set counts distinct hashes (0 and duplicates included), lists them
// in order, and switches to registers past SparseLimit with the same estimate as registers
// filled directly.
func TestHLLSparseSet(t *testing.T) {
	h := NewHLL(8)
	in := []uint64{5, 0, 3, 5, 0, 1 << 63, 3}
	for _, x := range in {
		h.Add(x)
	}
	if !h.Exact() || h.Estimate() != 4 || !slices.Equal(h.Sparse(), []uint64{0, 3, 5, 1 << 63}) {
		t.Fatalf("estimate %v, set %v", h.Estimate(), h.Sparse())
	}
	r := NewHLL(8)
	if !r.RestoreSparse(in) || !slices.Equal(r.Sparse(), h.Sparse()) || r.Bytes() != h.Bytes() {
		t.Fatalf("restored %v", r.Sparse())
	}
	direct := NewHLL(8)
	direct.densify()
	for i := range 1000 {
		h.Add(mix(uint64(i)))
		direct.Add(mix(uint64(i)))
	}
	for _, x := range in {
		direct.Add(x)
	}
	if h.Exact() || h.Sparse() != nil || !slices.Equal(h.Registers(), direct.Registers()) {
		t.Fatal("densified registers differ from registers filled directly")
	}
}
