package sketch

import (
	"math"
	"sort"
)

// refSpaceSaving is the Space-Saving implementation before the hash index (commit dafc545:
// Go map from key to slot, heap of slot numbers), kept verbatim as the reference the property
// tests compare the current one against: same stream, same counters, same evictions.
type refSpaceSaving struct {
	k     int
	slots []Counter
	heap  []int32          // slot numbers, a min-heap on slots[·].Count
	pos   []int32          // pos[slot] is the slot's index in heap
	index map[string]int32 // key → slot
	// floor bounds the total of every untracked key from what merges and evictions have
	// forgotten; Bound() is the larger of it and the smallest counter when the sketch is full.
	floor float64
}

// newRefSpaceSaving returns an empty sketch with k counters (k ≥ 1).
func newRefSpaceSaving(k int) *refSpaceSaving {
	if k < 1 {
		k = 1
	}
	return &refSpaceSaving{k: k, index: make(map[string]int32, min(k, 1024))}
}

// K is the number of counters.
func (s *refSpaceSaving) K() int { return s.k }

// Len is the number of keys tracked.
func (s *refSpaceSaving) Len() int { return len(s.slots) }

// Bound is the largest possible true total of an untracked key, and the largest Err.
func (s *refSpaceSaving) Bound() float64 {
	if len(s.slots) >= s.k && s.slots[s.heap[0]].Count > s.floor {
		return s.slots[s.heap[0]].Count
	}
	return s.floor
}

// Add adds weight w to key. key is copied only when the key is not yet tracked.
func (s *refSpaceSaving) Add(key []byte, w float64) {
	if slot, ok := s.index[string(key)]; ok {
		s.slots[slot].Count += w
		if i := int(s.pos[slot]); w >= 0 {
			s.down(i) // a grown count can only move away from the root
		} else {
			s.up(i)
		}
		return
	}
	if len(s.slots) < s.k {
		slot := int32(len(s.slots))
		s.slots = append(s.slots, Counter{Key: string(key), Count: s.floor + w, Err: s.floor})
		s.index[s.slots[slot].Key] = slot
		s.heap = append(s.heap, slot)
		s.pos = append(s.pos, int32(len(s.heap)-1))
		s.up(len(s.heap) - 1)
		return
	}
	// Evict the smallest counter: the newcomer may have had up to its count already.
	slot := s.heap[0]
	old := &s.slots[slot]
	delete(s.index, old.Key)
	if old.Count > s.floor {
		s.floor = old.Count
	}
	*old = Counter{Key: string(key), Count: s.floor + w, Err: s.floor}
	s.index[old.Key] = slot
	s.down(0)
}

// Counters returns the tracked keys, largest Count first (ties by key, so output is
// deterministic). The slice is a copy.
func (s *refSpaceSaving) Counters() []Counter {
	out := append([]Counter(nil), s.slots...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// Merge folds o into s (o is unchanged). Both are converted to Misra-Gries form (lower bound
// Count − bound, error bound), summed key by key, and cut back to K counters by subtracting the
// (K+1)-th largest lower bound from all (the mergeable-summaries step), which keeps the error
// within N/K. Per-key lower bounds (Count − Err) are summed separately and kept, since they
// stay valid and are usually tighter.
func (s *refSpaceSaving) Merge(o *refSpaceSaving) {
	type acc struct {
		mg, lo float64
	}
	bs, bo := s.Bound(), o.Bound()
	sum := make(map[string]acc, len(s.slots)+len(o.slots))
	for _, side := range []struct {
		c []Counter
		b float64
	}{{s.slots, bs}, {o.slots, bo}} {
		for _, c := range side.c {
			a := sum[c.Key]
			if mg := c.Count - side.b; mg > 0 {
				a.mg += mg
			}
			a.lo += c.Count - c.Err
			sum[c.Key] = a
		}
	}
	delta := bs + bo
	type entry struct {
		key string
		acc
	}
	all := make([]entry, 0, len(sum))
	for k, a := range sum {
		all = append(all, entry{k, a})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].mg != all[j].mg {
			return all[i].mg > all[j].mg
		}
		return all[i].key < all[j].key
	})
	if len(all) > s.k {
		cut := all[s.k].mg
		delta += cut
		all = all[:s.k]
		for i := range all {
			all[i].mg -= cut
		}
	}
	s.slots = s.slots[:0]
	for _, e := range all {
		if e.mg <= 0 && e.lo <= 0 {
			continue // nothing known beyond the bound: untracked
		}
		c := e.mg + delta
		lo := max(e.lo, e.mg)
		s.slots = append(s.slots, Counter{Key: e.key, Count: c, Err: max(c-lo, 0)}) // the one deliberate change: see SpaceSaving.Merge
	}
	s.floor = delta
	s.rebuild()
}

// Restore replaces the sketch's content (used when decoding a serialised partial). It checks
// what a decoder cannot trust: at most K counters, distinct keys, finite non-negative errors.
func (s *refSpaceSaving) Restore(counters []Counter, floor float64) bool {
	if len(counters) > s.k || math.IsNaN(floor) || math.IsInf(floor, 0) || floor < 0 {
		return false
	}
	s.slots = s.slots[:0]
	clear(s.index)
	for _, c := range counters {
		if _, dup := s.index[c.Key]; dup || math.IsNaN(c.Count) || math.IsInf(c.Count, 0) ||
			math.IsNaN(c.Err) || math.IsInf(c.Err, 0) || c.Err < 0 {
			return false
		}
		s.slots = append(s.slots, c)
		s.index[c.Key] = int32(len(s.slots) - 1)
	}
	s.floor = floor
	s.rebuild()
	return true
}

// Floor is the merge/eviction part of Bound (serialised with the counters).
func (s *refSpaceSaving) Floor() float64 { return s.floor }

// rebuild indexes slots afresh and heapifies them.
func (s *refSpaceSaving) rebuild() {
	clear(s.index)
	s.heap, s.pos = s.heap[:0], s.pos[:0]
	for i := range s.slots {
		s.index[s.slots[i].Key] = int32(i)
		s.heap = append(s.heap, int32(i))
		s.pos = append(s.pos, int32(i))
	}
	for i := len(s.heap)/2 - 1; i >= 0; i-- {
		s.down(i)
	}
}

func (s *refSpaceSaving) less(i, j int) bool {
	return s.slots[s.heap[i]].Count < s.slots[s.heap[j]].Count
}

func (s *refSpaceSaving) swap(i, j int) {
	h := s.heap
	h[i], h[j] = h[j], h[i]
	s.pos[h[i]] = int32(i)
	s.pos[h[j]] = int32(j)
}

func (s *refSpaceSaving) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !s.less(i, p) {
			return
		}
		s.swap(i, p)
		i = p
	}
}

func (s *refSpaceSaving) down(i int) {
	n := len(s.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		c := l
		if r := l + 1; r < n && s.less(r, l) {
			c = r
		}
		if !s.less(c, i) {
			return
		}
		s.swap(i, c)
		i = c
	}
}
