// Package pipeline holds weir's vocabulary (Record, Batch, Point, Report, Output, Window) and
// its runtime: one runner goroutine per owned partition folding records into per-window
// operator state, a merger that combines the partitions' partials into the worker's result for
// a window, an emitter that hands results to every sink, and the commit tracking that turns
// "every sink made this window durable" into a safe commit position for the source.
//
// Which window a record counts in, which records are late and when windows close follow the
// event-time rules written down once, in eventtime.go.
//
// The contracts this package keeps (ARCHITECTURE.md §2):
//
//   - At-least-once: a partition's commit point never passes a record whose window has not
//     been made durable by every sink. Windows hold positions, never records.
//   - Single writer: a partition's window state is touched only by its runner goroutine; the
//     hot path takes no locks and does not allocate.
//   - Bounded: every channel has a fixed capacity, in-flight record bytes are charged to one
//     Budget, a runner may have at most a fixed number of closed-but-unacknowledged windows,
//     and dead letters take a hold per group, not per record.
//   - Loud: every record dropped is counted by reason, and a reason that takes a noticeable
//     share of a window's records is logged (dropalarm.go).
package pipeline
