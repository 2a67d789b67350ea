package pipeline

import (
	"context"
	"time"
)

// Feed is how a source hands one partition's batches to its runner, in order.
type Feed struct{ r *runner }

// Partition returns the partition this feed runs.
func (f *Feed) Partition() Partition { return f.r.p }

// TrySend queues b without blocking and reports whether there was room. A source that gets
// false keeps the batch, pauses the partition and tries again later.
//
// While the runner is blocked handing a window over (its partition's partials are
// MaxPendingWindows behind the store), no batch with records is queued, however much room the
// queue has: the runner cannot start on more until the blockage clears, and what it already
// holds restarts it then. Queued batches would only wait, each holding its bytes of the budget:
// during a store stall memory would grow by the whole budget, and in a backlog drain the
// partitions that ran ahead of the others, waiting for window credits, would hold budget the
// lagging ones need. Empty batches (progress
// signals) always pass.
func (f *Feed) TrySend(b Batch) bool {
	if f.held(b) {
		return false
	}
	select {
	case f.r.in <- b:
		return true
	default:
		return false
	}
}

// SendWhileBusy queues b, waiting while the partition's queue is full but its runner is working
// through it. It gives up, reporting false, when the runner is or becomes blocked handing a
// window over (see TrySend), after wait (at once if wait <= 0), or when ctx ends; the source
// then keeps the batch and pauses the partition.
//
// Waiting briefly beats pausing when the runner is merely busy: a paused partition is left out
// of the fetch that follows, and if the other partitions of its broker are caught up that fetch
// waits out the broker's full max wait before the partition can be fetched again, so a lone hot
// partition would be read in bursts a fetch max wait apart.
func (f *Feed) SendWhileBusy(ctx context.Context, b Batch, wait time.Duration) bool {
	select {
	case <-f.r.blockedSig: // a stale signal from an earlier block
	default:
	}
	if f.TrySend(b) {
		return true
	}
	if wait <= 0 || f.held(b) {
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case f.r.in <- b:
		return true
	case <-f.r.blockedSig:
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// heldRecheck is how often Send looks again whether a blocked runner has resumed.
const heldRecheck = 20 * time.Millisecond

// Send queues b, blocking while the partition's queue is full or the runner is blocked (see
// TrySend).
func (f *Feed) Send(ctx context.Context, b Batch) error {
	for f.held(b) {
		t := time.NewTimer(heldRecheck)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	select {
	case f.r.in <- b:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// held reports whether b must wait because the runner is blocked.
func (f *Feed) held(b Batch) bool {
	return len(b.Records) > 0 && f.r.blocked.Load()
}
