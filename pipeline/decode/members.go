package decode

import "encoding/binary"

// memberTable finds a trie node's child for an object member name. The scanner looks up every
// member name of every object it descends into, so a linear scan with a string compare per
// planned member would be a large share of the decode. The table is an open-addressed hash (linear
// probing, at most half full) keyed on the name's first eight bytes as one word plus its
// length, so a lookup is one probe and, for the short names records use, one word compare
// instead of a call to compare memory. It is built by Plan.Add and only read once the plan is
// frozen.
type memberTable struct {
	// slots is the hash table; len(slots) is a power of two. Each slot carries what a lookup
	// compares and returns, so that a hit touches one slot and nothing else.
	slots []memberSlot
	shift uint // 64 - log2(len(slots)): memberHash keeps the top bits of the product
}

// memberSlot is a planned member in the table; n is nil in an empty slot.
type memberSlot struct {
	word uint64 // keyWord(key)
	key  string
	n    *node
}

// keyWord packs the first (up to) eight bytes of key into a little-endian word, zero-padded.
// A name sliced from the payload almost always has eight bytes of capacity (the rest of the
// record follows it), so that is one load.
func keyWord(key []byte) uint64 {
	if cap(key) >= 8 {
		w := binary.LittleEndian.Uint64(key[:8])
		if len(key) < 8 {
			w &= 1<<(8*uint(len(key))) - 1
		}
		return w
	}
	var w uint64
	for k := len(key) - 1; k >= 0; k-- {
		w = w<<8 | uint64(key[k])
	}
	return w
}

// memberHash mixes a name's word and length (Fibonacci hashing: the top bits of the product
// by 2^64/φ).
func memberHash(w uint64, n int, shift uint) uint64 {
	return ((w ^ uint64(n)) * 0x9E3779B97F4A7C15) >> shift
}

// rebuild indexes members; Add calls it whenever a member is appended.
func (t *memberTable) rebuild(members []member) {
	size, shift := 8, uint(64-3)
	for size < 2*len(members) {
		size *= 2
		shift--
	}
	t.slots, t.shift = make([]memberSlot, size), shift
	mask := uint64(size - 1)
	for _, m := range members {
		w := keyWord([]byte(m.key))
		h := memberHash(w, len(m.key), shift)
		for t.slots[h].n != nil {
			h = (h + 1) & mask
		}
		t.slots[h] = memberSlot{word: w, key: m.key, n: m.n}
	}
}

// member returns the child for object member key, or nil when no planned path goes there.
func (n *node) member(key []byte) *node {
	slots := n.keys.slots
	if len(slots) == 0 {
		return nil
	}
	mask := uint64(len(slots) - 1)
	w := keyWord(key)
	for h := memberHash(w, len(key), n.keys.shift); ; h = (h + 1) & mask {
		s := &slots[h]
		if s.n == nil {
			return nil
		}
		if s.word == w && len(s.key) == len(key) &&
			(len(key) <= 8 || s.key[8:] == string(key[8:])) { // no allocation: only compared
			return s.n
		}
	}
}
