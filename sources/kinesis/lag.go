package kinesis

import (
	"context"
	"time"

	"github.com/weirstream/weir/lag"
	"github.com/weirstream/weir/pipeline"
)

// LagSampler feeds a lag.Tracker from the shards this worker reads: every tracker interval, one
// sample per held shard with MillisBehindLatest from its last GetRecords (Kinesis has no end
// offset, so there is no record lag: the time lag is the measure), and Forget for the shards no
// longer held, so their series never outlive the lease.
type LagSampler struct {
	s       *Source
	tr      *lag.Tracker
	now     func() time.Time
	tracked map[string]pipeline.Partition // only Run's goroutine touches it
}

// NewLagSampler returns a sampler for s. now is the samples' wall clock (nil: time.Now).
func (s *Source) NewLagSampler(tr *lag.Tracker, now func() time.Time) *LagSampler {
	if now == nil {
		now = time.Now
	}
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

// Sample takes one round of samples.
func (l *LagSampler) Sample() {
	now := l.now()
	type shardLag struct {
		part   pipeline.Partition
		behind int64
	}
	l.s.mu.Lock()
	held := make(map[string]shardLag, len(l.s.held))
	for id, h := range l.s.held {
		if !h.gone.Load() {
			held[id] = shardLag{part: h.part, behind: h.behind.millis()}
		}
	}
	l.s.mu.Unlock()
	for id, p := range l.tracked {
		if _, ok := held[id]; !ok {
			l.tr.Forget(p)
			delete(l.tracked, id)
		}
	}
	for id, h := range held {
		l.tracked[id] = h.part
		l.tr.Observe(h.part, lag.Sample{Time: now, End: lag.Unknown, Committed: lag.Unknown,
			Start: lag.Unknown, Processed: lag.Unknown, MillisBehind: h.behind})
	}
}
