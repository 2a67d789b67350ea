// Package pipeline holds weir's vocabulary (Record, Batch, Point, Report, Output, Window,
// Partial, Checkpoint) and its per-partition runtime: one runner goroutine per owned partition
// folding records into per-window operator state, a writer per partition that makes each
// closed window's Partial durable in window order, and the commit path (commit.go) that turns
// "this partition's partials and dead letters are durable" into a checkpoint the source
// stores. Merging the partitions' partials into the fleet's result is the aggregator's job
// (package aggregator).
//
// Which window a record counts in, which records are late and when windows close follow the
// event-time rules written down once, in eventtime.go.
//
// The contracts this package keeps (ARCHITECTURE.md §2):
//
//   - At-least-once: a partition's commit point never passes a record whose window has not
//     been made durable, in a partial or as a dead letter. Windows hold positions, never
//     records.
//   - Exactly once from at-least-once input: a partial is written under a key of window and
//     partition only, and a replay from a checkpoint writes the same bytes (replay.go).
//   - Single writer: a partition's window state is touched only by its runner goroutine; the
//     hot path takes no locks and does not allocate.
//   - Bounded: every channel has a fixed capacity, in-flight record bytes are charged to one
//     Budget, a runner may have at most a fixed number of closed-but-unacknowledged windows,
//     and dead letters take a hold per group, not per record.
//   - Loud: every record dropped is counted by reason, and a reason that takes a noticeable
//     share of a window's records is logged (dropalarm.go).
package pipeline
