package aggregator

import (
	"sync"

	"github.com/weirstream/weir/pipeline"
)

// resettable is a State that can be emptied and decoded into again once it has been merged
// into another: its Merge copies what it keeps, so the merged result shares no memory with it,
// and Reset makes it what NewState makes for any partition.
// The contributor rules' states are (their sketches are most of what a merge would otherwise
// allocate); a State that is not is simply made anew for each partial.
type resettable interface {
	pipeline.State
	Reset()
}

// freeStates keeps, per operator, the states the fold has merged into a window's result, for
// the readers to decode later partials into instead of allocating new ones (a rule's state is
// a sketch of K counters with their keys, and its distinct counter). At most 2 ×
// ReadConcurrency partials are read or waiting at once, and one is being merged, so that many
// free states per operator are all the fold ever needs; more are dropped to the collector.
// The readers take states concurrently with the fold returning them.
type freeStates struct {
	mu   sync.Mutex
	free [][]resettable // by operator index
	max  int
}

func newFreeStates(ops, readConcurrency int) *freeStates {
	return &freeStates{free: make([][]resettable, ops), max: 2*readConcurrency + 1}
}

// get returns a free state of operator i, or nil if there is none.
func (l *freeStates) get(i int) pipeline.State {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.free[i]
	if len(f) == 0 {
		return nil
	}
	st := f[len(f)-1]
	f[len(f)-1] = nil
	l.free[i] = f[:len(f)-1]
	return st
}

// put empties st, a state of operator i that was merged into another without error (so it
// is a whole state, not one msgpack zeroed for a nil) and is not used again, and keeps it if
// it can be reused and there is room.
func (l *freeStates) put(i int, st pipeline.State) {
	r, ok := st.(resettable)
	if !ok {
		return
	}
	r.Reset()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.free[i]) < l.max {
		l.free[i] = append(l.free[i], r)
	}
}
