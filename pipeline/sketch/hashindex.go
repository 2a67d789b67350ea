package sketch

import "bytes"

// hashIndex finds a Space-Saving slot by its key's 64-bit hash: an open-addressing table with
// linear probing whose cells pack the hash's low 32 bits and the slot number into one uint64.
//
// It replaces a Go map[string]int32 because the caller already has the key's hash (the
// contributor operator hashes each key once, for the distinct counter too), and a Go map would
// hash the key again. The low hash bits in a cell give its home (so growing and deleting need
// nothing but the table) and reject most other keys of a probe without touching their slots;
// a match is confirmed against the slot's full 64-bit hash, then its key bytes. Eight-byte
// cells at most half full cost 16 bytes a counter, and a probe sequence stays within a cache
// line or two. Deletion shifts later entries back (no tombstones), so a table that sees a
// steady stream of evictions never degrades and never needs a rebuild.
type hashIndex struct {
	cells []uint64 // length a power of two, at most half full; 0 is an empty cell
	n     int
}

// cell packs an entry: the hash's low 32 bits above slot+1 (never 0, so a cell in use is
// never 0).
func cell(h uint64, slot int32) uint64 { return h<<32 | uint64(uint32(slot+1)) }

func cellSlot(c uint64) int32 { return int32(uint32(c)) - 1 }

// minIndexLen is the smallest table: small sketches (a rule with a handful of contributors) stay
// small.
const minIndexLen = 8

// reset empties the index and sizes it for n keys.
func (x *hashIndex) reset(n int) {
	size := minIndexLen
	for size < 2*n {
		size *= 2
	}
	// A table reused at a smaller size finds the same slots: where a key sits in it never
	// shows in the sketch's output.
	if cap(x.cells) >= size {
		x.cells = x.cells[:size]
		clear(x.cells)
	} else {
		x.cells = make([]uint64, size)
	}
	x.n = 0
}

// find returns the slot holding key (whose hash is h), or -1.
func (x *hashIndex) find(h uint64, key []byte, slots []slot) int32 {
	cells := x.cells
	if len(cells) == 0 {
		return -1
	}
	mask := uint64(len(cells) - 1)
	tag := uint32(h)
	for i := h & mask; ; i = (i + 1) & mask {
		c := cells[i]
		if c == 0 {
			return -1
		}
		if uint32(c>>32) == tag {
			sl := cellSlot(c)
			if s := &slots[sl]; s.hash == h && bytes.Equal(s.key, key) {
				return sl
			}
		}
	}
}

// insert adds slot under hash h; the caller has checked that its key is not present.
func (x *hashIndex) insert(h uint64, slot int32) {
	if 2*(x.n+1) > len(x.cells) {
		x.grow()
	}
	x.place(cell(h, slot))
	x.n++
}

// place puts a cell in the first free place of its probe sequence.
func (x *hashIndex) place(c uint64) {
	mask := uint64(len(x.cells) - 1)
	i := c >> 32 & mask
	for x.cells[i] != 0 {
		i = (i + 1) & mask
	}
	x.cells[i] = c
}

// grow doubles the table (or creates the first one) and re-places every cell. Tables stay far
// below 2^32 cells, so the stored low hash bits hold every home.
func (x *hashIndex) grow() {
	old := x.cells
	x.cells = make([]uint64, max(2*len(old), minIndexLen))
	for _, c := range old {
		if c != 0 {
			x.place(c)
		}
	}
}

// remove deletes slot, indexed under hash h. Later cells of the same cluster move back into
// the hole when their probe sequence passes through it (backward-shift deletion), so every
// remaining entry stays reachable from its home without tombstones.
func (x *hashIndex) remove(h uint64, slot int32) {
	cells := x.cells
	mask := uint64(len(cells) - 1)
	want := cell(h, slot)
	i := h & mask
	for cells[i] != want {
		if cells[i] == 0 {
			panic("sketch: hashIndex.remove of a slot it does not hold")
		}
		i = (i + 1) & mask
	}
	x.n--
	for j := i; ; {
		cells[i] = 0
		for {
			j = (j + 1) & mask
			c := cells[j]
			if c == 0 {
				return
			}
			// c may move back to the hole i unless its home lies cyclically in (i, j]: then
			// the hole is before its home and its probe sequence does not pass through it.
			home := c >> 32 & mask
			if i <= j && (i < home && home <= j) || i > j && (i < home || home <= j) {
				continue
			}
			cells[i] = c
			i = j
			break
		}
	}
}
