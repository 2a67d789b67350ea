package kinesis

import (
	"context"
	"time"

	"github.com/weirstream/weir/lag"
	"github.com/weirstream/weir/pipeline"
)

// LagSampler feeds a lag.Tracker from the shards this worker reads: every tracker interval, one
// sample per held shard with MillisBehindLatest from its last GetRecords (Kinesis has no end
// offset, so there is no record lag: the time lag is the measure), lag.Unknown for a shard
// whose first GetRecords has not answered yet (not 0: that is a caught-up shard's reading), and
// Forget for the shards no longer held, so their series never outlive the lease.
//
// The samples' positions are the lease's ordinals (pipeline.Position.Offset, from 0 at the
// take): Processed the next record to hand to the runner, Committed the one after the commit
// candidate (Unknown before the first). Without them every shard behind for a whole lag window
// looked as if nothing moved, and a shard catching up read as STALL.
type LagSampler struct {
	s       *Source
	tr      *lag.Tracker
	now     func() time.Time
	tracked map[string]pipeline.Partition // only Run's goroutine touches it
}

// NewLagSampler returns a sampler for s. now is the samples' wall clock (nil: time.Now). From
// then on s also tracks each shard in tr from the moment it takes the lease (lag.Tracker.Track)
// and forgets it when it lets the lease go.
func (s *Source) NewLagSampler(tr *lag.Tracker, now func() time.Time) *LagSampler {
	if now == nil {
		now = time.Now
	}
	s.mu.Lock()
	s.lagTracker = tr
	s.mu.Unlock()
	return &LagSampler{s: s, tr: tr, now: now, tracked: map[string]pipeline.Partition{}}
}

// TrackLag keeps tr current from the held shards until ctx ends: a LagSampler's Run with the
// wall clock. It is what the worker runs for every source.
func (s *Source) TrackLag(ctx context.Context, tr *lag.Tracker) {
	s.NewLagSampler(tr, nil).Run(ctx)
}

// Run samples every tracker interval until ctx ends.
func (l *LagSampler) Run(ctx context.Context) {
	t := time.NewTicker(l.tr.Config().Interval)
	defer t.Stop()
	for {
		l.Sample()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sample takes one round of samples. It hands them over under the source's lock, so a shard
// let go meanwhile (forget, which Forgets it in the tracker) is never observed again.
func (l *LagSampler) Sample() {
	now := l.now()
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	for id, p := range l.tracked {
		if h, ok := l.s.held[id]; !ok || h.gone.Load() {
			l.tr.Forget(p)
			delete(l.tracked, id)
		}
	}
	for id, h := range l.s.held {
		if h.gone.Load() {
			continue
		}
		ms, ok := h.behind.millis()
		if !ok {
			ms = lag.Unknown
		}
		committed := lag.Unknown
		if c, ok := h.candidate(); ok {
			committed = c.Position.Offset + 1 // a resume point is at -1: nothing of this lease
		}
		l.tracked[id] = h.part
		l.tr.Observe(h.part, lag.Sample{Time: now, End: lag.Unknown, Committed: committed,
			Start: 0, Processed: h.next.Load(), MillisBehind: ms})
	}
}
