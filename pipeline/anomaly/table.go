package anomaly

import (
	"slices"
	"strings"
)

// table holds the watched series, at most max of them. It keeps them in activity order (a
// doubly linked list, least recently touched first) so that retiring idle series costs only
// the series retired, and indexes per-contributor series by rule so that a rule's unlisted
// contributors are found without scanning every series.
//
// Admission is first come, first kept: when the table is full a new series is refused (the
// caller counts it), never admitted by evicting an active one. A detector's value is what it
// has learned; a burst of new series (a tenant explosion, a new rule with many contributors)
// must not throw away the learned state of the established series. Slots come back when
// series go idle (expire).
type table struct {
	byID       map[string]*watch
	byRule     map[string][]*watch
	max        int
	head, tail *watch
}

func newTable(limit int) *table {
	return &table{byID: make(map[string]*watch), byRule: make(map[string][]*watch), max: limit}
}

func (t *table) len() int { return len(t.byID) }

func (t *table) full() bool { return len(t.byID) >= t.max }

// lookup finds a series by id. Taking the id as bytes lets the caller build it in a reused
// buffer: the map lookup with string(id) does not allocate.
func (t *table) lookup(id []byte) *watch { return t.byID[string(id)] }

// add inserts w (the caller checked full) as the most recently touched series.
func (t *table) add(w *watch) {
	t.byID[w.id] = w
	if w.rule != "" {
		// Sorted by id, so that the order a rule's contributors are visited in (and their
		// points published in) does not depend on history: a restored table visits them in
		// the same order as the one it was saved from.
		rs := t.byRule[w.rule]
		i, _ := slices.BinarySearchFunc(rs, w.id, func(x *watch, id string) int { return strings.Compare(x.id, id) })
		t.byRule[w.rule] = slices.Insert(rs, i, w)
	}
	t.pushBack(w)
}

// touch marks w present in window seq (the analyzer's count of windows).
func (t *table) touch(w *watch, seq int64) {
	w.touched = max(w.touched, seq)
	if t.tail != w {
		t.unlink(w)
		t.pushBack(w)
	}
}

// expire removes the series last touched before window cutoff, least recent first, and
// returns how many it removed.
func (t *table) expire(cutoff int64) int {
	n := 0
	for t.head != nil && t.head.touched < cutoff {
		t.remove(t.head)
		n++
	}
	return n
}

func (t *table) remove(w *watch) {
	delete(t.byID, w.id)
	if w.rule != "" {
		rs := t.byRule[w.rule]
		for i, x := range rs {
			if x == w {
				rs = append(rs[:i], rs[i+1:]...)
				break
			}
		}
		if len(rs) == 0 {
			delete(t.byRule, w.rule)
		} else {
			t.byRule[w.rule] = rs
		}
	}
	t.unlink(w)
}

func (t *table) pushBack(w *watch) {
	w.prev, w.next = t.tail, nil
	if t.tail != nil {
		t.tail.next = w
	} else {
		t.head = w
	}
	t.tail = w
}

func (t *table) unlink(w *watch) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		t.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		t.tail = w.prev
	}
	w.prev, w.next = nil, nil
}
