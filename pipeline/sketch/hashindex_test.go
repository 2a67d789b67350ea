package sketch

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// indexModel drives a hashIndex over slots whose keys hash with a chosen (colliding) function
// and checks every lookup against a plain map.
type indexModel struct {
	t     *testing.T
	hash  func([]byte) uint64
	x     hashIndex
	slots []slot
	live  map[string]int32
	free  []int32
}

func newIndexModel(t *testing.T, hash func([]byte) uint64) *indexModel {
	return &indexModel{t: t, hash: hash, live: map[string]int32{}}
}

func (m *indexModel) insert(key string) {
	if _, ok := m.live[key]; ok {
		return
	}
	var sl int32
	if n := len(m.free); n > 0 {
		sl, m.free = m.free[n-1], m.free[:n-1]
	} else {
		sl = int32(len(m.slots))
		m.slots = append(m.slots, slot{})
	}
	m.slots[sl] = slot{key: []byte(key), hash: m.hash([]byte(key))}
	m.x.insert(m.slots[sl].hash, sl)
	m.live[key] = sl
}

func (m *indexModel) remove(key string) {
	sl, ok := m.live[key]
	if !ok {
		return
	}
	m.x.remove(m.slots[sl].hash, sl)
	m.slots[sl].key = nil
	delete(m.live, key)
	m.free = append(m.free, sl)
}

// check looks every live key up, and some absent ones.
func (m *indexModel) check(absent ...string) {
	m.t.Helper()
	if m.x.n != len(m.live) {
		m.t.Fatalf("index holds %d, want %d", m.x.n, len(m.live))
	}
	if 2*m.x.n > len(m.x.cells) {
		m.t.Fatalf("%d entries in a table of %d: over half full", m.x.n, len(m.x.cells))
	}
	for k, sl := range m.live {
		if got := m.x.find(m.hash([]byte(k)), []byte(k), m.slots); got != sl {
			m.t.Fatalf("find(%q) = %d, want %d", k, got, sl)
		}
	}
	for _, k := range absent {
		if _, ok := m.live[k]; ok {
			continue
		}
		if got := m.x.find(m.hash([]byte(k)), []byte(k), m.slots); got != -1 {
			m.t.Fatalf("find(absent %q) = %d", k, got)
		}
	}
}

func TestHashIndexEmpty(t *testing.T) {
	var x hashIndex
	if x.find(1, []byte("a"), nil) != -1 {
		t.Fatal("found in an empty index")
	}
}

// TestHashIndexCollisions forces every key onto few hashes (and, with distinct hashes, onto few
// home cells), so lookups must compare keys and deletions must shift clusters that wrap around
// the table's end.
func TestHashIndexCollisions(t *testing.T) {
	hashes := map[string]func([]byte) uint64{
		"one hash": func([]byte) uint64 { return 42 },
		"4 hashes": func(b []byte) uint64 { return HashKey(b) & 3 },
		// Distinct hashes with the same low bits: same home cell, hash compare rejects.
		"same home": func(b []byte) uint64 { return HashKey(b) &^ 0xffff },
		// Distinct hashes whose low halves (the cells' tags) are all equal.
		"same tag": func(b []byte) uint64 { return HashKey(b) &^ 0xffffffff },
		// Homes at the table's last cells, so clusters wrap to cell 0.
		"wrapping": func(b []byte) uint64 { return ^uint64(0) - HashKey(b)&1 },
		"xxhash":   HashKey,
	}
	for name, h := range hashes {
		t.Run(name, func(t *testing.T) {
			m := newIndexModel(t, h)
			for i := range 40 {
				m.insert("k" + strconv.Itoa(i))
				m.check("k"+strconv.Itoa(i+1), "x")
			}
			// Delete from the front, the back and the middle of clusters.
			for _, i := range []int{0, 39, 20, 1, 38, 21, 19} {
				m.remove("k" + strconv.Itoa(i))
				m.check("k"+strconv.Itoa(i), "x")
			}
			for i := range 40 {
				if i%3 == 0 {
					m.remove("k" + strconv.Itoa(i))
				} else {
					m.insert("n" + strconv.Itoa(i))
				}
				m.check("k"+strconv.Itoa(i), "n"+strconv.Itoa(i+1))
			}
		})
	}
}

// TestHashIndexGrowth fills the index from empty through several doublings, then deletes and
// re-inserts at random (the eviction pattern) and checks every key stays findable.
func TestHashIndexGrowth(t *testing.T) {
	for _, tc := range []struct {
		name     string
		hash     func([]byte) uint64
		n, final int
	}{
		{"xxhash", HashKey, 3000, 8192},
		// One long cluster: every shift crosses many entries.
		{"16 homes", func(b []byte) uint64 { return HashKey(b) % 16 }, 500, 1024},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newIndexModel(t, tc.hash)
			sizes := map[int]bool{}
			for i := range tc.n {
				m.insert("key-" + strconv.Itoa(i))
				sizes[len(m.x.cells)] = true
				if i%97 == 0 {
					m.check("absent")
				}
			}
			m.check()
			if len(sizes) < 5 || len(m.x.cells) != tc.final {
				t.Fatalf("table sizes %v, final %d", sizes, len(m.x.cells))
			}
			r := rand.New(rand.NewPCG(1, 1))
			for i := range 5 * tc.n {
				m.remove("key-" + strconv.Itoa(r.IntN(tc.n+i/2)))
				m.insert("key-" + strconv.Itoa(tc.n+i))
				if i%(tc.n/10) == 0 {
					m.check("absent", "key-"+strconv.Itoa(tc.n+1+i))
				}
			}
			m.check()
		})
	}
}

func TestHashIndexReset(t *testing.T) {
	m := newIndexModel(t, HashKey)
	for i := range 100 {
		m.insert(strconv.Itoa(i))
	}
	m.x.reset(3)
	if m.x.n != 0 || len(m.x.cells) != minIndexLen {
		t.Fatalf("after reset: %d entries, table %d", m.x.n, len(m.x.cells))
	}
	if m.x.find(HashKey([]byte("5")), []byte("5"), m.slots) != -1 {
		t.Fatal("found after reset")
	}
	m.x.reset(100)
	if len(m.x.cells) != 256 {
		t.Fatalf("reset(100): table %d", len(m.x.cells))
	}
}
