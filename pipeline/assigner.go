package pipeline

import "context"

// Assigner is what a source drives: a runner for each partition it comes to own (Assign, from
// the checkpoint it resumes the partition at, whose Feed takes that partition's batches in
// order) and a clean hand-back of each one it loses (Revoke). *Runtime implements it; source
// tests wrap it to simulate a crash.
type Assigner interface {
	Assign(p Partition, from *Checkpoint) (*Feed, error)
	Revoke(ctx context.Context, p Partition)
}

var _ Assigner = (*Runtime)(nil)
