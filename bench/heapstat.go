package main

import (
	"runtime/metrics"
)

// heapStat is what the Go runtime says about the child's heap at a sample: enough to tell
// whether RSS that grew is memory the program still holds (Objects after a collection, Live)
// or memory the collector has not yet reclaimed or returned to the OS (Objects before one,
// Free). RSS alone cannot tell them apart, and the two call for different fixes.
type heapStat struct {
	// Objects is the heap occupied by objects, live or not yet swept: what the program holds
	// plus the garbage since the last collection.
	Objects int64 `json:"heap_objects"`
	// Live is the heap the last collection marked live.
	Live int64 `json:"heap_live"`
	// Goal is the heap size at which the next collection is due (GOGC, or the memory limit).
	Goal int64 `json:"heap_goal"`
	// Free is heap memory that is free but still resident (not yet returned to the OS);
	// Released has been returned (it no longer counts in RSS).
	Free     int64 `json:"heap_free"`
	Released int64 `json:"heap_released"`
	// Mapped is all memory the runtime has mapped and not released: heap, stacks and metadata.
	Mapped int64 `json:"go_mapped"`
	// GCs is how many collections have completed since the process started.
	GCs int64 `json:"gcs"`
}

// heapMetrics are the runtime/metrics names heapStat reads, in the order of its fields.
var heapMetrics = []string{
	"/memory/classes/heap/objects:bytes",
	"/gc/heap/live:bytes",
	"/gc/heap/goal:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/released:bytes",
	"/memory/classes/total:bytes",
	"/gc/cycles/total:gc-cycles",
}

// heapReader reads heapStat with one reused sample slice, so sampling every 100 ms allocates
// nothing in the process it measures.
type heapReader struct{ s []metrics.Sample }

func newHeapReader() *heapReader {
	r := &heapReader{s: make([]metrics.Sample, len(heapMetrics))}
	for i, n := range heapMetrics {
		r.s[i].Name = n
	}
	return r
}

func (r *heapReader) read() heapStat {
	metrics.Read(r.s)
	v := func(i int) int64 {
		if r.s[i].Value.Kind() != metrics.KindUint64 {
			return 0 // a name this Go release does not know
		}
		return int64(r.s[i].Value.Uint64())
	}
	released := v(4)
	return heapStat{Objects: v(0), Live: v(1), Goal: v(2), Free: v(3), Released: released,
		Mapped: v(5) - released, GCs: v(6)}
}
