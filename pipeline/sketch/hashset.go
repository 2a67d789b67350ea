package sketch

import "math/bits"

// hashSet is a set of 64-bit hashes: an open-addressing table with linear probing. The
// distinct counter keeps its exact set in one while it is small (up to 2^P/16 hashes, so a
// few hundred to a few thousand) and looks every record's hash up in it; a Go map[uint64]
// spent more time hashing and matching control bytes than the rest of the counter.
//
// The table holds 0 for an empty cell, so the hash 0 is kept aside in hasZero. A cell's home
// comes from the top bits of the hash times an odd constant (Fibonacci hashing): hashes are
// meant to be well mixed already, but a restored set comes from a serialised state, and the
// multiplication keeps hashes that differ only in their high bits from sharing a cluster.
type hashSet struct {
	cells   []uint64 // length a power of two, at most 3/4 full
	shift   uint8    // 64 − log2(len(cells))
	n       int      // hashes in cells
	hasZero bool
}

const fibonacci = 0x9E3779B97F4A7C15

// Len is the number of hashes held.
func (s *hashSet) Len() int {
	if s.hasZero {
		return s.n + 1
	}
	return s.n
}

// has reports whether x is in the set.
func (s *hashSet) has(x uint64) bool {
	if x == 0 {
		return s.hasZero
	}
	if len(s.cells) == 0 {
		return false
	}
	mask := uint64(len(s.cells) - 1)
	for i := x * fibonacci >> s.shift; ; i = (i + 1) & mask {
		switch s.cells[i] {
		case x:
			return true
		case 0:
			return false
		}
	}
}

// add inserts x; the caller has checked that it is absent.
func (s *hashSet) add(x uint64) {
	if x == 0 {
		s.hasZero = true
		return
	}
	if 4*(s.n+1) > 3*len(s.cells) {
		s.grow()
	}
	s.place(x)
	s.n++
}

func (s *hashSet) place(x uint64) {
	mask := uint64(len(s.cells) - 1)
	i := x * fibonacci >> s.shift
	for s.cells[i] != 0 {
		i = (i + 1) & mask
	}
	s.cells[i] = x
}

// grow doubles the table (or creates the first one, of 8 cells) and re-places every hash.
func (s *hashSet) grow() {
	old := s.cells
	size := max(2*len(old), 8)
	s.cells = make([]uint64, size)
	s.shift = uint8(64 - bits.TrailingZeros(uint(size)))
	for _, x := range old {
		if x != 0 {
			s.place(x)
		}
	}
}

// reset empties the set, keeping its table.
func (s *hashSet) reset() {
	clear(s.cells)
	s.n, s.hasZero = 0, false
}

// each calls f with every hash of the set, in table order.
func (s *hashSet) each(f func(uint64)) {
	if s.hasZero {
		f(0)
	}
	for _, x := range s.cells {
		if x != 0 {
			f(x)
		}
	}
}

// appendTo appends the set's hashes to out, in table order.
func (s *hashSet) appendTo(out []uint64) []uint64 {
	if s.hasZero {
		out = append(out, 0)
	}
	for _, x := range s.cells {
		if x != 0 {
			out = append(out, x)
		}
	}
	return out
}
