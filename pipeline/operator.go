package pipeline

import (
	"github.com/vmihailenco/msgpack/v5"

	"github.com/weirstream/weir/pipeline/decode"
)

// Operator computes one kind of result per window (throughput, contributors of a rule, lag).
// It is built once from configuration, before any runner starts; at construction it registers
// the payload fields it needs with the decode.Plan it is given, and keeps the indices that
// Plan.Add returned to find them again in State.Observe.
//
// An Operator is shared by every runner and must be safe for concurrent use; in practice it is
// immutable and only creates State.
type Operator interface {
	// Name is unique among the configured operators; it labels metrics and logs.
	Name() string
	// NewState returns empty state for one partition and one window. It is called by that
	// partition's runner goroutine when the window opens.
	NewState(p Partition) State
}

// StreamSelector is implemented by operators that read only some streams (a contributor rule's
// LogGroupNames). A runner asks once, when its partition starts, not per record.
type StreamSelector interface {
	Reads(stream string) bool
}

// State is one operator's state for one window: first a single partition's partial, then (after
// Merge) the worker's result.
//
// Observe runs on the hot path, on one goroutine (the partition's runner); it must not block
// and should not allocate for records whose keys it already tracks. Once the window closes the
// state is encoded into the partition's Partial (its msgpack encoding must be deterministic: a
// replay writes the same bytes), and the fleet's aggregator decodes, Merges and Emits the
// partials of every partition. No State is ever used by two goroutines at once, so
// implementations need no locks.
type State interface {
	// Observe folds one record into the state. fields holds the values of the Plan's fields
	// for this record (Missing where absent); it and r are valid only during the call.
	Observe(r *Record, fields []decode.Value)
	// Merge folds another partial of the same operator and window into this one. other is
	// never used again by the caller.
	Merge(other State) error
	// Emit appends the window's results to out. It is called once, on the fully merged state.
	Emit(w Window, out *Output)

	msgpack.CustomEncoder
	msgpack.CustomDecoder
}

// Analyzer sees every merged window Output of the fleet's aggregator before the sinks do and
// may append to it. The anomaly detector runs here, on the global series the operators
// produced. Analyze is called from one goroutine, in window order.
type Analyzer interface {
	Analyze(out *Output)
}

// DurableObserver is implemented by analyzers that must know when an Output they analyzed has
// become durable in every sink. The anomaly analyzer saves its detectors' state only then: an
// aggregator that takes over merges again exactly the windows whose outputs were not durable,
// and the restored detectors have not yet learned them.
//
// Durable is called once per Output, after the sinks wrote it, in window order.
type DurableObserver interface {
	Durable(out *Output)
}

// DropCounter is implemented by states that report what their window lost (the throughput
// operator's summary report). The runner calls CountDrops, like Observe, on its own goroutine,
// for records of the partition that were late or dead-lettered, in the window that counts them
// (see windowCounts in drops.go): reason is DeadLetter.Reason ("decode", "event_time", "late"),
// deadLettered says whether the records went to the dead-letter sink (a late record placed by
// late: oldest-open was also Observed in this window instead).
type DropCounter interface {
	CountDrops(reason string, deadLettered bool, n int64)
}
