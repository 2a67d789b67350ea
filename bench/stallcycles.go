package main

import "slices"

// liveAtCollections summarises the heap each collection left live (runtime/metrics
// /gc/heap/live, which sets the next heap goal at twice it), one value per collection the
// series saw: its count, median, 90th percentile and highest. Before and after the stall it
// tells a catch-up whose collections leave more live from one that only runs more of them: the
// RSS target compares the highest of a few seconds of drain before the stall with the highest
// of the stall and a catch-up several times as long, and the highest of more draws from the
// same spread is higher.
type liveAtCollections struct {
	Collections int   `json:"collections"`
	Median      int64 `json:"median_bytes"`
	P90         int64 `json:"p90_bytes"`
	Max         int64 `json:"max_bytes"`
}

// collectionsLive reads liveAtCollections from the samples in [from, to) (seconds), taking each
// collection's live heap from the first sample that saw it completed.
func collectionsLive(series []sample, from, to float64) liveAtCollections {
	var live []int64
	last := int64(-1)
	for _, p := range series {
		if p.T < from || p.T >= to || p.Heap == nil {
			continue
		}
		if p.Heap.GCs != last {
			if last >= 0 {
				live = append(live, p.Heap.Live)
			}
			last = p.Heap.GCs
		}
	}
	if len(live) == 0 {
		return liveAtCollections{}
	}
	slices.Sort(live)
	return liveAtCollections{Collections: len(live), Median: live[len(live)/2], P90: live[len(live)*9/10], Max: live[len(live)-1]}
}
