package pipeline

import "context"

// Sink persists window outputs. A window's records are acknowledged (and may be committed past)
// only after every configured Sink returned nil from Write for that window's Output.
//
// Write is called by one goroutine per sink, one Output at a time, in window order. It blocks
// until out is durable (retrying transient failures itself, with backoff, honouring ctx) or
// returns an error; on error the runtime keeps the window unacknowledged and retries the Write
// later, so a Sink must make a repeated Write of the same Output idempotent (deterministic
// keys) where the destination allows it. A slow Write is how a sink applies backpressure.
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

// Committer receives a partition's commit points from the runtime.
//
// Commit says that every record of p at or before pos has been made durable by every sink (or
// dead-lettered durably). It is called from sink-completion goroutines, possibly concurrently
// for different partitions, with strictly increasing positions per partition; it must not
// block for long (mark, don't flush). A source must ignore (and count) a Commit for a partition
// it no longer owns.
type Committer interface {
	Commit(p Partition, pos Position)
}
