package pipeline

import (
	"context"
	"time"
)

// Sink persists window outputs: the fleet's global results, which the aggregator writes
// (reports to the file and S3 sinks, points to CloudWatch). The per-partition runtime writes
// partials instead (PartialWriter).
//
// Write blocks until out is durable (retrying transient failures itself, with backoff,
// honouring ctx) or returns an error; a Sink must make a repeated Write of the same Output
// idempotent (deterministic keys) where the destination allows it.
type Sink interface {
	Name() string
	Write(ctx context.Context, out *Output) error
	// Close flushes anything buffered and releases resources. No Write follows it.
	Close(ctx context.Context) error
}

// DeadLetterSink persists dead letters. WriteDeadLetters has the same contract as Sink.Write:
// it returns nil only once every letter is durable, and must tolerate being called again with
// the same letters after an error. Unlike Write, it is called concurrently (by a few
// goroutines, each with different letters): dead letters have no order to keep, and a flood of
// them should not wait for each write's round trip.
type DeadLetterSink interface {
	WriteDeadLetters(ctx context.Context, letters []DeadLetter) error
}

// PartialWriter persists partials (Partial): every partition's state for every window it
// closes, under a key of the window and the partition only. sinks/s3 and sinks/file implement
// it (their PartialStore), and the fleet's aggregator reads what it wrote.
//
// WritePartial returns nil only once body is durable. It replaces any earlier partial of the
// same window and partition: a replay writes the same bytes again. It is called by one
// goroutine per partition, one partial at a time and in window order (each durable before the
// next is written), and by several partitions at once; on error the runtime retries it.
type PartialWriter interface {
	WritePartial(ctx context.Context, start time.Time, p Partition, body []byte) error
}

// Committer receives a partition's commit points from the runtime (commit.go).
//
// Commit says that every record of p at or before c.Position has been made durable (in a
// partial or as a dead letter), and gives the event-time state a replay from there needs. A
// source stores c.Position and c.State together, atomically, and hands them back to
// Runtime.Assign when it resumes p. Commit is called from writer goroutines, possibly
// concurrently for different partitions, with commit points in order per partition (the
// position never goes back); it must not block for long (record, don't flush). A source must
// ignore (and count) a Commit for a partition it no longer owns.
type Committer interface {
	Commit(p Partition, c Checkpoint)
}
