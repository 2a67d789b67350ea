package sketch

// slot is one tracked key of a SpaceSaving sketch; its count lives in the heap entry at
// SpaceSaving.pos[slot].
//
// Keys of up to shortKey bytes (a contributor key of one or two short values: a tenant, a
// tenant and a user) are held in the slot itself, so that confirming a hash match reads the
// line the hash is on instead of following a pointer to a buffer of its own, and an evicted
// slot takes its newcomer's key without allocating. Longer keys live in long, whose buffer an
// evicted slot reuses when it is big enough.
type slot struct {
	hash  uint64
	err   float64
	n     int32 // the key's length
	short [shortKey]byte
	long  []byte
}

// shortKey is the longest key held in the slot: with it a slot is 64 bytes, one cache line.
const shortKey = 16

// key is the slot's key; it aliases the slot (or its long buffer) and is valid until the slot
// changes.
func (sl *slot) key() []byte {
	if sl.n <= shortKey {
		return sl.short[:sl.n]
	}
	return sl.long[:sl.n]
}

// setKey copies k into the slot.
func (sl *slot) setKey(k []byte) {
	sl.n = int32(len(k))
	if len(k) <= shortKey {
		copy(sl.short[:], k)
		return
	}
	sl.long = append(sl.long[:0], k...)
}

// is reports whether the slot holds key k.
func (sl *slot) is(k []byte) bool {
	if int(sl.n) != len(k) {
		return false
	}
	if len(k) <= shortKey {
		return string(sl.short[:len(k)]) == string(k)
	}
	return string(sl.long[:len(k)]) == string(k)
}
