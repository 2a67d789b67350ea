package sketch

import "bytes"

// hashIndex finds a Space-Saving slot by its key's 64-bit hash: an open-addressing table with
// linear probing whose entries hold the full hash and the slot number.
//
// It replaces a Go map[string]int32 because the caller already has the key's hash (the
// contributor operator hashes each key once, for the distinct counter too), and a Go map would
// hash the key again. Keeping the full hash in the entry lets a probe reject other keys without
// touching their bytes; key bytes are compared only on a full hash match. Linear probing keeps
// a probe sequence in one or two cache lines, and deletion shifts later entries back (no
// tombstones), so a table that sees a steady stream of evictions never degrades and never needs
// a rebuild.
type hashIndex struct {
	ents []indexEntry // length a power of two, at most half full
	n    int
}

// indexEntry is one table cell; slot1 is the slot number plus one, so the zero value (what make
// and clear produce) is an empty cell.
type indexEntry struct {
	hash  uint64
	slot1 int32
}

// minIndexLen is the smallest table: small sketches (a rule with a handful of contributors) stay
// small.
const minIndexLen = 8

// reset empties the index and sizes it for n keys.
func (x *hashIndex) reset(n int) {
	size := minIndexLen
	for size < 2*n {
		size *= 2
	}
	if len(x.ents) == size {
		clear(x.ents)
	} else {
		x.ents = make([]indexEntry, size)
	}
	x.n = 0
}

// find returns the slot holding key (whose hash is h), or -1.
func (x *hashIndex) find(h uint64, key []byte, slots []slot) int32 {
	ents := x.ents
	if len(ents) == 0 {
		return -1
	}
	mask := uint64(len(ents) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		e := ents[i]
		if e.slot1 == 0 {
			return -1
		}
		if e.hash == h && bytes.Equal(slots[e.slot1-1].key, key) {
			return e.slot1 - 1
		}
	}
}

// insert adds slot under hash h; the caller has checked that its key is not present.
func (x *hashIndex) insert(h uint64, slot int32) {
	if 2*(x.n+1) > len(x.ents) {
		x.grow()
	}
	x.place(h, slot+1)
	x.n++
}

// place puts an entry in the first free cell of h's probe sequence.
func (x *hashIndex) place(h uint64, slot1 int32) {
	mask := uint64(len(x.ents) - 1)
	i := h & mask
	for x.ents[i].slot1 != 0 {
		i = (i + 1) & mask
	}
	x.ents[i] = indexEntry{hash: h, slot1: slot1}
}

// grow doubles the table (or creates the first one) and re-places every entry.
func (x *hashIndex) grow() {
	old := x.ents
	x.ents = make([]indexEntry, max(2*len(old), minIndexLen))
	for _, e := range old {
		if e.slot1 != 0 {
			x.place(e.hash, e.slot1)
		}
	}
}

// remove deletes slot, indexed under hash h. Later entries of the same cluster move back into
// the hole when their probe sequence passes through it (backward-shift deletion), so every
// remaining entry stays reachable from its home cell without tombstones.
func (x *hashIndex) remove(h uint64, slot int32) {
	ents := x.ents
	mask := uint64(len(ents) - 1)
	i := h & mask
	for ents[i].slot1 != slot+1 {
		if ents[i].slot1 == 0 {
			panic("sketch: hashIndex.remove of a slot it does not hold")
		}
		i = (i + 1) & mask
	}
	x.n--
	for j := i; ; {
		ents[i] = indexEntry{}
		for {
			j = (j + 1) & mask
			e := ents[j]
			if e.slot1 == 0 {
				return
			}
			// e may move back to the hole i unless its home lies cyclically in (i, j]: then
			// the hole is before its home and its probe sequence does not pass through it.
			home := e.hash & mask
			if i <= j && (i < home && home <= j) || i > j && (i < home || home <= j) {
				continue
			}
			ents[i] = e
			i = j
			break
		}
	}
}
