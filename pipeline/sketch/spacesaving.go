// Package sketch holds the mergeable summaries the contributor operator keeps per window:
// a weighted Space-Saving heavy-hitters sketch and a HyperLogLog distinct counter. Both are
// deterministic (no random seeds), so partials built on different workers merge.
package sketch

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// SpaceSaving tracks the heaviest keys of a weighted stream in at most K counters (Metwally,
// Agrawal, El Abbadi 2005, with weights), and merges the way Agarwal et al. ("Mergeable
// Summaries", PODS 2012) merge Misra-Gries summaries, to which Space-Saving is isomorphic.
//
// Guarantees, for non-negative weights, N the total weight observed (over all merged parts):
//   - every tracked key's true total lies in [Count − Err, Count];
//   - every untracked key's true total is at most Bound();
//   - Err ≤ Bound() ≤ N/K, whatever the number of merges.
//
// So a key whose true total exceeds N/K is always tracked, and ranking by Count gives the exact
// top n whenever the n-th and (n+1)-th true totals differ by more than Bound().
//
// Counters live in stable slots (a key keeps its slot until evicted) ordered by an indexed
// min-heap on Count. The heap entries carry the counts themselves, so sifting compares
// neighbouring entries of one array instead of chasing slot numbers; a slot records its heap
// position for the way back. A hash index (hashIndex) finds a key's slot by the key's 64-bit
// hash, which the caller may supply (AddHashed) when it hashes the key anyway; the index is
// written only when a key arrives or is evicted, never while counts are re-ordered. An evicted
// slot reuses its key buffer for the newcomer, so a steady stream of new keys (10^5–10^6
// contributors a window against 1000 counters) allocates only when a key outgrows its slot's.
type SpaceSaving struct {
	k     int
	slots []slot
	heap  []heapEntry // a min-heap on count
	index hashIndex   // key hash → slot
	// arena holds the keys of the slots that Restore or Merge filled, one after another (a
	// key added later has a buffer of its own).
	arena []byte
	// scratch is Merge's working memory, kept for the next merge (nil until the first).
	scratch *mergeScratch
	// floor bounds the total of every untracked key from what merges and evictions have
	// forgotten; Bound() is the larger of it and the smallest counter when the sketch is full.
	floor float64
	// hash, when set, replaces HashKey (tests force collisions with it).
	hash func([]byte) uint64
}

// slot is one tracked key; its count lives in the heap entry at pos.
type slot struct {
	key  []byte
	hash uint64
	err  float64
	pos  int32
}

type heapEntry struct {
	count float64
	slot  int32
}

// Counter is one tracked key. Count is an upper bound of its true total and Count − Err a
// lower bound.
type Counter struct {
	Key   string
	Count float64
	Err   float64
}

// NewSpaceSaving returns an empty sketch with k counters (k ≥ 1).
func NewSpaceSaving(k int) *SpaceSaving {
	if k < 1 {
		k = 1
	}
	return &SpaceSaving{k: k}
}

// HashKey is the hash AddHashed wants: xxhash64 of the key (the contributor operator feeds
// the same hash to its distinct counter).
func HashKey(key []byte) uint64 { return xxhash.Sum64(key) }

func (s *SpaceSaving) hashOf(key []byte) uint64 {
	if s.hash != nil {
		return s.hash(key)
	}
	return xxhash.Sum64(key)
}

// CountersFor sizes a sketch: enough counters for the top n to be reported and for the error
// to stay within eps of the total weight (k = ⌈1/eps⌉), and at least 4n so the n-th entry is
// rarely near the eviction boundary.
func CountersFor(n int, eps float64) int {
	k := 4 * n
	if eps > 0 {
		if e := int(math.Ceil(1 / eps)); e > k {
			k = e
		}
	}
	return max(k, 1)
}

// K is the number of counters.
func (s *SpaceSaving) K() int { return s.k }

// Len is the number of keys tracked.
func (s *SpaceSaving) Len() int { return len(s.slots) }

// Bound is the largest possible true total of an untracked key, and the largest Err.
func (s *SpaceSaving) Bound() float64 {
	if len(s.slots) >= s.k && s.heap[0].count > s.floor {
		return s.heap[0].count
	}
	return s.floor
}

// Add adds weight w to key. key is copied only when the key is not yet tracked.
func (s *SpaceSaving) Add(key []byte, w float64) { s.AddHashed(key, s.hashOf(key), w) }

// AddHashed is Add for a caller that has already computed h = HashKey(key); any other h
// would file the key where Add, Merge and Restore cannot find it. It reports whether the key
// was tracked already: a caller that feeds every key to a distinct counter too (the
// contributor operator) has given it this one before, and skips it.
func (s *SpaceSaving) AddHashed(key []byte, h uint64, w float64) (tracked bool) {
	if sl := s.index.find(h, key, s.slots); sl >= 0 {
		hp := s.heap
		i := int(s.slots[sl].pos)
		if i >= len(hp) {
			return true // unreachable: pos indexes heap; the check spares the ones below
		}
		c := hp[i].count + w
		hp[i].count = c
		if w < 0 {
			s.up(i)
			return true
		}
		// A grown count can only move away from the root, and usually stays put: decide that
		// here with down's own test (against the smaller child, the left one on ties).
		if l := 2*i + 1; l < len(hp) && l > 0 {
			m := hp[l].count
			if r := l + 1; r < len(hp) && hp[r].count < m {
				m = hp[r].count
			}
			if m < c {
				s.down(i)
			}
		}
		return true
	}
	if len(s.slots) < s.k {
		sl := int32(len(s.slots))
		i := len(s.heap)
		s.slots = append(s.slots, slot{key: append([]byte(nil), key...), hash: h, err: s.floor, pos: int32(i)})
		s.heap = append(s.heap, heapEntry{count: s.floor + w, slot: sl})
		s.index.insert(h, sl)
		s.up(i)
		return false
	}
	// Evict the smallest counter: the newcomer may have had up to its count already.
	root := &s.heap[0]
	old := &s.slots[root.slot]
	s.index.remove(old.hash, root.slot)
	if root.count > s.floor {
		s.floor = root.count
	}
	old.key = append(old.key[:0], key...)
	old.hash = h
	old.err = s.floor
	root.count = s.floor + w
	s.index.insert(h, root.slot)
	s.down(0)
	return false
}

// counters lists the tracked keys in slot order (keys copied).
func (s *SpaceSaving) counters() []Counter {
	out := make([]Counter, len(s.slots))
	for i := range s.slots {
		sl := &s.slots[i]
		out[i] = Counter{Key: string(sl.key), Count: s.heap[sl.pos].count, Err: sl.err}
	}
	return out
}

// Counters returns the tracked keys, largest Count first (ties by key, so output is
// deterministic). The slice is a copy.
func (s *SpaceSaving) Counters() []Counter {
	out := s.counters()
	slices.SortFunc(out, func(a, b Counter) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out
}

// Entry is a counter whose key is a byte slice: what a decoder restores a sketch from without
// making a string per key.
type Entry struct {
	Key   []byte
	Count float64
	Err   float64
}

// Restore replaces the sketch's content (used when decoding a serialised partial). It checks
// what a decoder cannot trust: at most K counters, distinct keys, finite non-negative errors.
func (s *SpaceSaving) Restore(counters []Counter, floor float64) bool {
	es := make([]Entry, len(counters))
	for i, c := range counters {
		es[i] = Entry{Key: []byte(c.Key), Count: c.Count, Err: c.Err}
	}
	return s.RestoreEntries(es, floor)
}

// RestoreEntries is Restore from entries whose keys are bytes; the keys are copied into the
// sketch's own memory, which it reuses, so restoring into a sketch that held as many keys
// before allocates nothing. When it reports false the sketch is empty.
func (s *SpaceSaving) RestoreEntries(es []Entry, floor float64) bool {
	if len(es) > s.k || math.IsNaN(floor) || math.IsInf(floor, 0) || floor < 0 {
		s.Reset()
		return false
	}
	for _, c := range es {
		if math.IsNaN(c.Count) || math.IsInf(c.Count, 0) || math.IsNaN(c.Err) || math.IsInf(c.Err, 0) || c.Err < 0 {
			s.Reset()
			return false
		}
	}
	s.floor = floor
	return s.rebuild(es)
}

// Reset empties the sketch, keeping its memory.
func (s *SpaceSaving) Reset() {
	s.slots, s.heap, s.arena = s.slots[:0], s.heap[:0], s.arena[:0]
	s.index.reset(0)
	s.floor = 0
}

// Floor is the merge/eviction part of Bound (serialised with the counters).
func (s *SpaceSaving) Floor() float64 { return s.floor }

// rebuild replaces the counters with es, in that slot order, copying the keys into the arena,
// and heapifies them. It reports false, leaving the sketch empty, when es repeats a key.
func (s *SpaceSaving) rebuild(es []Entry) bool {
	size := 0
	for _, e := range es {
		size += len(e.Key)
	}
	// The old slots are being replaced, so their arena is free; sized once, so the keys
	// sliced from it stay in it.
	arena := growBytes(s.arena, size)
	s.slots, s.heap = slices.Grow(s.slots[:0], len(es)), slices.Grow(s.heap[:0], len(es))
	s.index.reset(len(es))
	for i, e := range es {
		start := len(arena)
		arena = append(arena, e.Key...)
		key := arena[start:len(arena):len(arena)]
		h := s.hashOf(key)
		if s.index.find(h, key, s.slots) >= 0 {
			s.Reset()
			return false
		}
		s.slots = append(s.slots, slot{key: key, hash: h, err: e.Err, pos: int32(i)})
		s.heap = append(s.heap, heapEntry{count: e.Count, slot: int32(i)})
		s.index.insert(h, int32(i))
	}
	s.arena = arena
	for i := len(s.heap)/2 - 1; i >= 0; i-- {
		s.down(i)
	}
	return true
}

// up and down sift the entry at i with a hole: entries it passes move one step, and it is
// written once where it stops. The comparisons are those of a swap-based sift (a strict less
// decides each move, the left child wins ties), so equal counts end up in the same places and
// the same counter is evicted as before.
func (s *SpaceSaving) up(i int) {
	h := s.heap
	if i <= 0 || i >= len(h) {
		return
	}
	x := h[i]
	for i > 0 {
		p := (i - 1) / 2
		if !(x.count < h[p].count) {
			break
		}
		h[i] = h[p]
		s.slots[h[i].slot].pos = int32(i)
		i = p
	}
	h[i] = x
	s.slots[x.slot].pos = int32(i)
}

func (s *SpaceSaving) down(i int) {
	h := s.heap
	n := len(h)
	if i < 0 || i >= n {
		return
	}
	x := h[i]
	for {
		l := 2*i + 1
		if l >= n || l < 0 {
			break
		}
		c, cv := l, h[l].count
		if r := l + 1; r < n {
			// Which child is smaller is a coin toss when a newcomer sinks: written so the
			// compiler selects without a branch (CMOV) rather than mispredicting half the time.
			d := 0
			if h[r].count < cv {
				d = 1
			}
			c += d
			cv = h[c].count
		}
		if !(cv < x.count) {
			break
		}
		h[i] = h[c]
		s.slots[h[i].slot].pos = int32(i)
		i = c
	}
	h[i] = x
	s.slots[x.slot].pos = int32(i)
}
