package pipeline

import (
	"sync/atomic"
	"time"
)

// Stats are running totals of a Runtime, cheap to read at any time (the worker's live summary,
// tests, the bench harness). Prometheus metrics carry the same and more, labelled.
type Stats struct {
	Records       int64 // records folded into windows or dead-lettered
	Bytes         int64 // their key and value bytes
	Partials      int64 // partials made durable (one per partition and window)
	DeadLetters   int64 // records sent to the dead-letter sink
	SinkErrors    int64 // failed partial and dead-letter writes (each is retried; see weir_sink_write_errors_total)
	InFlightBytes int64 // bytes charged to the budget now
	Partitions    int   // partitions running now
}

type statCounters struct {
	records     atomic.Int64
	bytes       atomic.Int64
	partials    atomic.Int64
	deadLetters atomic.Int64
	sinkErrors  atomic.Int64
}

// Stats returns the runtime's totals.
func (rt *Runtime) Stats() Stats {
	rt.mu.Lock()
	n := len(rt.runners)
	rt.mu.Unlock()
	return Stats{
		Records:       rt.stats.records.Load(),
		Bytes:         rt.stats.bytes.Load(),
		Partials:      rt.stats.partials.Load(),
		DeadLetters:   rt.stats.deadLetters.Load(),
		SinkErrors:    rt.stats.sinkErrors.Load(),
		InFlightBytes: rt.budget.InUse(),
		Partitions:    n,
	}
}

// Unflushed reports whether any partition holds records not yet durable (open windows, partials
// not yet written, unwritten dead letters): a harness that wants every window written waits
// for false before it stops the runtime, which leaves open windows to the next owner.
func (rt *Runtime) Unflushed() bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for _, r := range rt.runners {
		if r.holds.pending() > 0 {
			return true
		}
	}
	return false
}

// PartitionRecords calls fn for every partition the runtime runs now, with when it was
// assigned and how many of its records were processed since (folded or dead-lettered): the
// per-partition figures of a worker's load report. A partition revoked and assigned again
// starts over. fn runs under the runtime's lock: it must not call the runtime.
func (rt *Runtime) PartitionRecords(fn func(p Partition, assigned time.Time, records int64)) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for p, r := range rt.runners {
		fn(p, r.assigned, r.records.Load())
	}
}
