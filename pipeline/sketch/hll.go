package sketch

import (
	"math"
	"math/bits"
	"slices"
)

// HLL counts distinct keys by their 64-bit hashes. While it has seen few distinct hashes it
// keeps them (the count is then exact, up to 64-bit hash collisions); past SparseLimit it
// switches to 2^P one-byte registers and estimates with Ertl's improved estimator ("New
// cardinality estimation algorithms for HyperLogLog sketches", 2017), whose relative standard
// error is about 1.04/√(2^P) over the whole range, with no bias tables.
//
// Hashes must come from a fixed function (the contributor operator uses xxhash64 of the key),
// so that sketches from different workers merge.
type HLL struct {
	p      uint8
	sparse hashSet // empty once dense
	regs   []uint8 // nil while sparse
	// spare keeps the registers' memory while the sketch is sparse again (after a Reset or a
	// sparse restore), for the next time it turns dense.
	spare []uint8
}

// DefaultPrecision gives 16384 registers (16 KiB dense), a standard error of 0.81%.
const DefaultPrecision = 14

// MinPrecision and MaxPrecision bound P.
const (
	MinPrecision = 4
	MaxPrecision = 18
)

// NewHLL returns an empty sketch with 2^p registers (p clamped to [MinPrecision, MaxPrecision]).
func NewHLL(p int) *HLL {
	p = min(max(p, MinPrecision), MaxPrecision)
	return &HLL{p: uint8(p)}
}

// Precision is P.
func (h *HLL) Precision() int { return int(h.p) }

// SparseLimit is the number of distinct hashes kept exactly: a sixteenth of the register
// count, so the exact set (8 bytes a hash in a table at most 3/4 full, doubling as it grows)
// takes at most as much memory as the dense registers would.
func (h *HLL) SparseLimit() int { return 1 << h.p / 16 }

// Add records one hash.
func (h *HLL) Add(x uint64) {
	if h.regs == nil {
		if h.sparse.has(x) {
			return
		}
		if h.sparse.Len() < h.SparseLimit() {
			h.sparse.add(x)
			return
		}
		h.densify()
	}
	h.addDense(x)
}

func (h *HLL) addDense(x uint64) {
	q := 64 - h.p
	idx := x >> q
	// Leading zeros of the remaining q bits, plus one; q+1 when they are all zero.
	rest := x<<h.p | 1<<(h.p-1) // a sentinel bit caps the count at q
	r := uint8(bits.LeadingZeros64(rest)) + 1
	if r > h.regs[idx] {
		h.regs[idx] = r
	}
}

func (h *HLL) densify() {
	h.regs = h.takeRegs()
	clear(h.regs)
	h.sparse.each(h.addDense)
	h.sparse = hashSet{} // a dense sketch keeps no table: it would double its memory
}

// takeRegs returns memory for the 2^P registers, the spare if there is one (not cleared).
func (h *HLL) takeRegs() []uint8 {
	r := h.spare
	h.spare = nil
	if len(r) != 1<<h.p {
		r = make([]uint8, 1<<h.p)
	}
	return r
}

// Reset empties the sketch, keeping its memory.
func (h *HLL) Reset() {
	if h.regs != nil {
		h.spare, h.regs = h.regs, nil
	}
	h.sparse.reset()
}

// Exact reports whether Estimate is an exact count.
func (h *HLL) Exact() bool { return h.regs == nil }

// Estimate returns the number of distinct hashes added.
func (h *HLL) Estimate() float64 {
	if h.regs == nil {
		return float64(h.sparse.Len())
	}
	q := int(64 - h.p)
	m := float64(len(h.regs))
	var c [66]float64
	for _, r := range h.regs {
		c[r]++
	}
	z := m * tau(1-c[q+1]/m)
	for k := q; k >= 1; k-- {
		z = 0.5 * (z + c[k])
	}
	z += m * sigma(c[0]/m)
	return m * m / (2 * math.Ln2) / z
}

func sigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y, z := 1.0, x
	for {
		x *= x
		prev := z
		z += x * y
		y += y
		if z == prev {
			return z
		}
	}
}

func tau(x float64) float64 {
	if x == 0 || x == 1 {
		return 0
	}
	y, z := 1.0, 1-x
	for {
		x = math.Sqrt(x)
		prev := z
		y *= 0.5
		z -= (1 - x) * (1 - x) * y
		if z == prev {
			return z / 3
		}
	}
}

// Merge folds o into h (o unchanged). Both must have the same precision.
func (h *HLL) Merge(o *HLL) bool {
	if h.p != o.p {
		return false
	}
	if o.regs == nil {
		o.sparse.each(h.Add)
		return true
	}
	if h.regs == nil {
		h.densify()
	}
	for i, r := range o.regs {
		if r > h.regs[i] {
			h.regs[i] = r
		}
	}
	return true
}

// Sparse returns the exact hash set in increasing order (a copy; nil once dense).
func (h *HLL) Sparse() []uint64 {
	if h.regs != nil {
		return nil
	}
	out := h.sparse.appendTo(make([]uint64, 0, h.sparse.Len()))
	slices.Sort(out)
	return out
}

// Registers returns the dense registers (nil while sparse): the sketch's own memory, read
// only.
func (h *HLL) Registers() []uint8 { return h.regs }

// RestoreDense replaces the content with registers (a serialised dense sketch); it rejects a
// wrong length or impossible register values.
func (h *HLL) RestoreDense(regs []uint8) bool {
	if len(regs) != 1<<h.p {
		return false
	}
	for _, r := range regs {
		if r > 64-h.p+1 {
			return false
		}
	}
	if h.regs == nil {
		h.regs = h.takeRegs()
	}
	copy(h.regs, regs)
	h.sparse = hashSet{}
	return true
}

// RestoreSparse replaces the content with an exact hash set; it rejects more hashes than the
// sparse limit.
func (h *HLL) RestoreSparse(hashes []uint64) bool {
	if len(hashes) > h.SparseLimit() {
		return false
	}
	h.Reset()
	for _, x := range hashes {
		if !h.sparse.has(x) {
			h.sparse.add(x)
		}
	}
	return true
}

// Bytes is the sketch's approximate memory footprint.
func (h *HLL) Bytes() int {
	if h.regs != nil {
		return len(h.regs)
	}
	return 48 + h.sparse.Len()*16
}
