package aggregator

import (
	"slices"
	"time"

	"github.com/weirstream/weir/pipeline"
)

// progress is what a term has seen of the partitions: which delivered which window, the
// latest window each delivered, when each last delivered something new, and which ended.
//
// The completeness rule rests on contiguity: every partition writes a partial for every
// window from its start point on, empty ones included. So a partition has passed window W if
// it delivered W, or any later window (it started after W and has nothing for it), or it
// ended before W. W is complete when every partition of the set has passed it.
type progress struct {
	byWindow map[int64]map[pipeline.Partition]struct{}
	latest   map[pipeline.Partition]int64
	lastNew  map[pipeline.Partition]time.Time
	// ended holds the window start of each partition's Ended partial.
	ended map[pipeline.Partition]int64
}

func newProgress() *progress {
	return &progress{
		byWindow: make(map[int64]map[pipeline.Partition]struct{}),
		latest:   make(map[pipeline.Partition]int64),
		lastNew:  make(map[pipeline.Partition]time.Time),
		ended:    make(map[pipeline.Partition]int64),
	}
}

// record notes that p delivered the window starting at start, seen at now.
func (g *progress) record(start int64, p pipeline.Partition, now time.Time) {
	ps := g.byWindow[start]
	if ps == nil {
		ps = make(map[pipeline.Partition]struct{})
		g.byWindow[start] = ps
	}
	if _, seen := ps[p]; seen {
		return
	}
	ps[p] = struct{}{}
	g.lastNew[p] = now
	if l, ok := g.latest[p]; !ok || start > l {
		g.latest[p] = start
	}
}

// delivered reports whether p delivered the window starting at start.
func (g *progress) delivered(start int64, p pipeline.Partition) bool {
	_, ok := g.byWindow[start][p]
	return ok
}

// partitions returns the partitions that delivered the window starting at start, in merge
// order.
func (g *progress) partitions(start int64) []pipeline.Partition {
	ps := make([]pipeline.Partition, 0, len(g.byWindow[start]))
	for p := range g.byWindow[start] {
		ps = append(ps, p)
	}
	slices.SortFunc(ps, pipeline.ComparePartitions)
	return ps
}

// passed reports whether p has passed the window starting at start.
func (g *progress) passed(p pipeline.Partition, start int64) bool {
	if g.delivered(start, p) {
		return true
	}
	if l, ok := g.latest[p]; ok && l > start {
		return true
	}
	e, ok := g.ended[p]
	return ok && e < start
}

// nextAfter returns the earliest window start recorded after start.
func (g *progress) nextAfter(start int64) (int64, bool) {
	next, found := int64(0), false
	for s := range g.byWindow {
		if s > start && (!found || s < next) {
			next, found = s, true
		}
	}
	return next, found
}

// forget drops the windows before start, except those keep wants (watched windows).
func (g *progress) forget(start int64, keep func(int64) bool) {
	for s := range g.byWindow {
		if s < start && !keep(s) {
			delete(g.byWindow, s)
		}
	}
}

// verdict is what to do with the next window.
type verdict int

const (
	wait  verdict = iota // some partition may still deliver it
	merge                // complete, or past the grace deadline: merge it (naming the missing)
	skip                 // every partition passed it and none delivered it: nothing to merge
)

// judge decides about window w. parts is the partition set; termStart is when this term began
// (a partition never seen in it counts as having delivered then, so a new aggregator waits a
// whole grace before it names anyone missing). It returns the partitions that have not passed
// w when it is merged past the deadline.
//
// A window is merged without a partition only once the window is grace past its end and
// every partition that has not passed it has delivered nothing new for grace: a partition
// draining a backlog keeps delivering, and keeps the window waiting for it.
func (g *progress) judge(w pipeline.Window, parts []pipeline.Partition, now, termStart time.Time, grace time.Duration) (verdict, []pipeline.Partition) {
	if len(parts) == 0 {
		return wait, nil // no partition set yet: nothing can be called complete
	}
	start := w.Start.UnixNano()
	var missing []pipeline.Partition
	for _, p := range parts {
		if !g.passed(p, start) {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		if len(g.byWindow[start]) == 0 {
			return skip, nil
		}
		return merge, nil
	}
	if now.Sub(w.End) < grace {
		return wait, nil
	}
	for _, p := range missing {
		last := termStart
		if t, ok := g.lastNew[p]; ok && t.After(last) {
			last = t
		}
		if now.Sub(last) < grace {
			return wait, nil
		}
	}
	slices.SortFunc(missing, pipeline.ComparePartitions)
	return merge, missing
}
