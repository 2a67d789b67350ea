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
// lagging ones need. The same holds, one step earlier, while the partition's store is behind
// (a closed window waits behind another not yet durable: the runner may block soon): the queue
// then takes one batch, not QueueLen (see held). Empty batches (progress signals) always pass.
func (f *Feed) TrySend(b Batch) bool {
	if f.held(b) {
		return false
	}
	select {
	case f.r.in <- b:
		f.queued(b)
		return true
	default:
		return false
	}
}

// ReadAhead reports whether a source should fetch more of the partition now, before the runner
// has finished what it was given. It is false while the partition's store is behind (see held)
// and the runner has a batch, queued or in hand: the store is a window behind, so the runner
// may block any moment, and a batch fetched meanwhile would wait out the stall beside the one
// it blocks in, held live by the collections during the stall (bench/README.md, "Issue 20,
// third pass"). A source that gets false pauses fetching the partition and asks again.
func (f *Feed) ReadAhead() bool {
	return !f.r.storeBehind() || f.r.outstanding.Load() <= 0
}

// queued counts a batch the runner now has (see ReadAhead). The runner may finish it first:
// the count is then below zero for a moment, which ReadAhead reads as nothing outstanding.
func (f *Feed) queued(b Batch) {
	if len(b.Records) > 0 {
		f.r.outstanding.Add(1)
	}
}

// SendWhileBusy queues b, waiting while the partition's queue is full but its runner is working
// through it. It gives up, reporting false, when the runner is or becomes blocked handing a
// window over, at once when the store is behind and a batch is queued already (see TrySend),
// after wait (at once if wait <= 0), or when ctx ends; the source then keeps the batch and
// pauses the partition.
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
		f.queued(b)
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
		f.queued(b)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// behindQueueLen is how many batches a partition's queue takes while its store is behind (see
// held), instead of QueueLen.
const behindQueueLen = 1

// held reports whether b must wait because the runner is blocked, or because its store is
// behind (a closed window waits behind another not yet durable) and the queue already holds
// behindQueueLen batches. A store that is behind is one the runner may soon block on: if it
// does, what is queued then waits out the stall, holding its bytes of the budget, and the
// collections during the stall count them live, so the catch-up's heap goal is paced from them.
// One queued batch still keeps the runner busy while the source fetches the next.
func (f *Feed) held(b Batch) bool {
	if len(b.Records) == 0 {
		return false
	}
	return f.r.blocked.Load() || (f.r.storeBehind() && len(f.r.in) >= behindQueueLen)
}
