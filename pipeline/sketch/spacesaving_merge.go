package sketch

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"slices"
)

// Merge folds o into s (o is unchanged). Both are converted to Misra-Gries form (lower bound
// Count − bound, error bound), summed key by key, and cut back to K counters by subtracting the
// (K+1)-th largest lower bound from all (the mergeable-summaries step), which keeps the error
// within N/K. Per-key lower bounds (Count − Err) are summed separately and kept, since they
// stay valid and are usually tighter.
//
// o's keys are matched with s's through s's hash index and the hashes the slots keep, so a
// merge hashes nothing and builds no map or string: the aggregator and the per-window merges
// fold thousands of counters per window, and a map of string keys (one allocation per key,
// each key hashed again, then again by rebuild) was most of their cost. s and o must hash keys
// alike (the same sketch configuration), as Merge's callers' checks on K and rule ensure.
//
// s keeps the memory a merge works in (mergeScratch) for its next one, so merging many
// sketches into one allocates only while that memory grows; s keeps nothing of o's.
func (s *SpaceSaving) Merge(o *SpaceSaving) {
	if s.scratch == nil {
		s.scratch = &mergeScratch{}
	}
	sc := s.scratch
	bs, bo := s.Bound(), o.Bound()
	// One entry per distinct key: s's slots in slot order (entry i is slot i), then o's keys
	// that s does not track. The sums are formed in the order s then o, as always.
	all := slices.Grow(sc.all[:0], len(s.slots)+len(o.slots))[:len(s.slots)]
	for i := range s.slots {
		sl := &s.slots[i]
		c := s.heap[sl.pos].count
		e := &all[i]
		*e = mergeEntry{key: sl.key, hash: sl.hash, lo: c - sl.err}
		if mg := c - bs; mg > 0 {
			e.mg = mg
		}
	}
	for i := range o.slots {
		sl := &o.slots[i]
		c := o.heap[sl.pos].count
		var e *mergeEntry
		if j := s.index.find(sl.hash, sl.key, s.slots); j >= 0 {
			e = &all[j]
		} else {
			all = append(all, mergeEntry{key: sl.key, hash: sl.hash})
			e = &all[len(all)-1]
		}
		if mg := c - bo; mg > 0 {
			e.mg += mg
		}
		e.lo += c - sl.err
	}
	sc.all = all
	delta := bs + bo
	// Sorted by count, largest first, then by key: small records that point at the entries,
	// so the sort moves a few words at a time; equal counts are common (counts are mostly small
	// integers), so each record carries its key's first 16 bytes to settle most ties without
	// reading the key.
	order := slices.Grow(sc.order[:0], len(all))[:len(all)]
	for i := range all {
		order[i] = mergeRank{mg: all[i].mg, p0: keyPrefix(all[i].key, 0), p1: keyPrefix(all[i].key, 8), i: int32(i)}
	}
	sc.order = order
	slices.SortFunc(order, func(a, b mergeRank) int {
		switch {
		case a.mg != b.mg:
			return cmp.Compare(b.mg, a.mg)
		case a.p0 != b.p0:
			return cmp.Compare(a.p0, b.p0)
		case a.p1 != b.p1:
			return cmp.Compare(a.p1, b.p1)
		}
		return bytes.Compare(all[a.i].key, all[b.i].key)
	})
	cut := 0.0
	if len(order) > s.k {
		cut = order[s.k].mg
		delta += cut
		order = order[:s.k]
	}
	// Every surviving key is copied into the spare arena, s's own included: the keys then live
	// in one buffer whatever mix of restored, merged and added keys s held, and the arena s
	// used until now is spare for the next merge (nothing refers to it any more). A slot's key
	// is sliced with its capacity cut to its length, so an evicted slot that takes a longer
	// key gets a buffer of its own instead of overwriting its neighbour's.
	size := 0
	for _, r := range order {
		size += len(all[r.i].key)
	}
	arena := growBytes(sc.arena, size)
	slots := slices.Grow(sc.slots[:0], len(order))
	counts := slices.Grow(sc.counts[:0], len(order))
	for _, r := range order {
		e := &all[r.i]
		e.mg -= cut
		if e.mg <= 0 && e.lo <= 0 {
			continue // nothing known beyond the bound: untracked
		}
		c := e.mg + delta
		lo := max(e.lo, e.mg)
		start := len(arena)
		arena = append(arena, e.key...)
		// The lower bounds are summed apart from the counts, so with fractional weights lo can
		// come out a rounding error above c: Err would be -1e-14, and Restore (rightly) refuses
		// negative errors, so the merged state could not be read back.
		slots = append(slots, slot{key: arena[start:len(arena):len(arena)], hash: e.hash, err: max(c-lo, 0)})
		counts = append(counts, c)
	}
	// The entries point at keys of o and of s's old arena: drop them, so the scratch keeps no
	// other sketch's memory alive.
	clear(all)
	sc.counts = counts
	sc.slots, s.slots = s.slots, slots
	sc.arena, s.arena = s.arena, arena
	s.floor = delta
	s.rebuildSlots(counts)
}

// mergeScratch is the memory a merge works in, kept by the sketch merged into: the
// aggregator merges every partition's sketch into one, and fresh arrays for each of those
// merges were most of what it allocated. slots and arena alternate with the sketch's own:
// a merge builds the new counters there and swaps.
type mergeScratch struct {
	all    []mergeEntry
	order  []mergeRank
	slots  []slot
	counts []float64
	arena  []byte
}

// growBytes returns b emptied with room for n bytes.
func growBytes(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, 0, n)
	}
	return b[:0]
}

// mergeEntry is one key of a merge: its Misra-Gries count and summed lower bound.
type mergeEntry struct {
	key    []byte
	hash   uint64
	mg, lo float64
}

// mergeRank is an entry's place in the order of a merge: its count, its key's bytes from 0
// and from 8 as big-endian words, and its index.
type mergeRank struct {
	mg     float64
	p0, p1 uint64
	i      int32
}

// keyPrefix is key[from:from+8] as a big-endian word, zero-padded. Two keys whose words differ
// compare as the words do (a key that ends first pads with zeros, which sort first, as the
// shorter key does); equal words settle nothing, and the keys are compared.
func keyPrefix(key []byte, from int) uint64 {
	if len(key) >= from+8 {
		return binary.BigEndian.Uint64(key[from:])
	}
	var w uint64
	for k := range 8 {
		w <<= 8
		if from+k < len(key) {
			w |= uint64(key[from+k])
		}
	}
	return w
}

// rebuildSlots heapifies s.slots (with counts[i] the count of slots[i]) and indexes them, in
// that slot order. The keys are distinct.
func (s *SpaceSaving) rebuildSlots(counts []float64) {
	slots := s.slots
	s.heap = slices.Grow(s.heap[:0], len(slots))
	s.index.reset(len(slots))
	for i := range slots {
		slots[i].pos = int32(i)
		s.heap = append(s.heap, heapEntry{count: counts[i], slot: int32(i)})
		s.index.insert(slots[i].hash, int32(i))
	}
	for i := len(s.heap)/2 - 1; i >= 0; i-- {
		s.down(i)
	}
}
