package pipeline

import (
	"context"
	"sync"
)

// Budget is the one global in-flight byte budget of a worker (ARCHITECTURE.md §2, bounded
// memory). Sources charge the bytes of every batch they fetch and release them when the runner
// is done with the batch; sinks that buffer (S3 batching) acquire what they hold. When the
// budget is full, sources stop fetching instead of growing.
//
// Sources charge after the fact (the bytes are already fetched), so usage can exceed the limit
// by at most one fetch; Acquire, for buffers that can wait, never exceeds it.
type Budget struct {
	limit int64

	mu    sync.Mutex
	used  int64
	freed chan struct{} // closed and replaced whenever usage drops
}

// DefaultBudgetBytes is the budget of a worker that knows no memory limit (no GOMEMLIMIT, no
// cgroup limit). A worker's peak RSS runs to about five times its budget: records in flight
// are kept as franz-go's and weir's record structs besides their payloads, one fetch waits in
// the client, free lists keep recycled buffers, and the Go heap grows to twice what is live
// between collections. 48 MiB is the smallest budget that drained as fast as larger ones in
// the bench (bench/README.md, "Findings behind the code").
const DefaultBudgetBytes = 48 << 20

// NewBudget returns a budget of limit bytes (limit > 0).
func NewBudget(limit int64) *Budget {
	return &Budget{limit: limit, freed: make(chan struct{})}
}

// Limit returns the budget's size in bytes.
func (b *Budget) Limit() int64 { return b.limit }

// InUse returns the bytes currently charged.
func (b *Budget) InUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// Charge adds n bytes unconditionally and reports whether the budget is now full. Sources call
// it for data they already hold and react to a full budget by pausing.
func (b *Budget) Charge(n int64) (full bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used += n
	return b.used >= b.limit
}

// TryAcquire adds n bytes if they fit under the limit. A request larger than the whole budget
// is admitted when nothing else is in use, so it cannot wait forever.
func (b *Budget) TryAcquire(n int64) bool {
	ok, _ := b.tryAcquire(n)
	return ok
}

// Acquire blocks until n bytes fit under the limit (see TryAcquire), then adds them.
func (b *Budget) Acquire(ctx context.Context, n int64) error {
	for {
		ok, released := b.tryAcquire(n)
		if ok {
			return nil
		}
		select {
		case <-released:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// tryAcquire adds n bytes if they fit; if not, it returns the channel of the next release,
// taken under the same lock as the check so that a release in between cannot be missed.
func (b *Budget) tryAcquire(n int64) (bool, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.limit && b.used > 0 {
		return false, b.freed
	}
	b.used += n
	return true, nil
}

// Release returns n bytes to the budget and wakes everything waiting for room.
func (b *Budget) Release(n int64) {
	b.mu.Lock()
	b.used -= n
	if b.used < 0 {
		// A double release is a bug in the caller; clamp so the budget stays usable and the
		// accounting error shows up as usage that never returns to zero in tests.
		b.used = 0
	}
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}

// Full reports whether usage has reached the limit.
func (b *Budget) Full() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used >= b.limit
}

// Released returns a channel that is closed at the next Release, for callers that re-evaluate
// something on every change of usage.
func (b *Budget) Released() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.freed
}
