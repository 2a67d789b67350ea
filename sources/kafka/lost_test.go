package kafka

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/pipeline"
)

// revokeRecorder is a runtime that records which partitions it was told to revoke.
type revokeRecorder struct {
	mu      sync.Mutex
	revoked []pipeline.Partition
}

func (r *revokeRecorder) Assign(pipeline.Partition, *pipeline.Checkpoint) (*pipeline.Feed, error) {
	return nil, nil
}

func (r *revokeRecorder) Revoke(_ context.Context, p pipeline.Partition) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.revoked = append(r.revoked, p)
}

// A lost partition's runner is always stopped. A worker resuming from a freeze longer than its
// session finds its partitions lost; if their runners stayed in the runtime, they went on
// closing windows on the wall clock and writing partials for partitions another worker owned
// (empty ones, over the owner's: on-time records lost), and when a partition came back, the
// runtime handed the old runner back with its open windows while the fetch restarted from the
// commit (records counted twice). onLost revokes with an already cancelled context (no wait
// for durability), and reaching the runtime through that context was a coin toss.
func TestLostPartitionsAreAlwaysRevoked(t *testing.T) {
	ready := make(chan struct{})
	close(ready)
	for i := range 64 {
		rec := &revokeRecorder{}
		m := newMetrics(prometheus.NewRegistry())
		s := &Source{log: slog.New(slog.NewTextHandler(io.Discard, nil)), m: m, rtReady: ready, rt: rec,
			owned: map[tp]*owned{}}
		s.commits = newCommitter(s)
		key := tp{"events", 3}
		s.owned[key] = &owned{part: pipeline.Partition{Stream: "events", ID: "3"}, gate: newGate(key, nil, nil, m)}
		s.onLost(context.Background(), nil, map[string][]int32{"events": {3}})
		if len(rec.revoked) != 1 {
			t.Fatalf("lost partition %d: the runtime was told to revoke %v, want events/3", i, rec.revoked)
		}
	}
}
