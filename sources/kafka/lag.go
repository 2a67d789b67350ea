package kafka

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/weirstream/weir/lag"
	"github.com/weirstream/weir/pipeline"
)

// LagPoller feeds a lag.Tracker from the brokers: every Interval it lists the end offsets of
// every partition of the topics and the group's committed offsets (two requests, whatever the
// partition count), samples the partitions this member owns and forgets those it no longer
// owns. It reads the committed offsets from the group coordinator rather than trusting its
// own marks, so the lag is what a restart would actually resume from. (The whole topics' view
// the fleet's sizing needs is Offsets, asked by the aggregator alone.)
type LagPoller struct {
	s   *Source
	tr  *lag.Tracker
	adm *kadm.Client
	now func() time.Time
	// tracked are the partitions fed to the tracker; only Poll's goroutine touches it.
	tracked map[tp]pipeline.Partition
}

// NewLagPoller returns a poller for s's owned partitions. now is the wall clock of the samples
// (nil: time.Now); tests inject one to get exact time lags.
func (s *Source) NewLagPoller(tr *lag.Tracker, now func() time.Time) *LagPoller {
	if now == nil {
		now = time.Now
	}
	s.mu.Lock()
	s.lagTracker = tr
	s.mu.Unlock()
	return &LagPoller{s: s, tr: tr, adm: kadm.NewClient(s.cl), now: now, tracked: make(map[tp]pipeline.Partition)}
}

// TrackLag keeps tr current from the brokers until ctx ends: a LagPoller's Run with the wall
// clock. It is what the worker runs for every source.
func (s *Source) TrackLag(ctx context.Context, tr *lag.Tracker) {
	s.NewLagPoller(tr, nil).Run(ctx)
}

// Run polls every tracker Interval until ctx ends. A failed round is logged and skipped: the
// next one retries.
// It must run on one goroutine only; it never blocks the source's poll loop (it holds the
// source's lock only while handing samples over, never across a request).
func (p *LagPoller) Run(ctx context.Context) {
	t := time.NewTicker(p.tr.Config().Interval)
	defer t.Stop()
	for {
		if err := p.Poll(ctx); err != nil && ctx.Err() == nil {
			p.s.log.Warn("lag poll failed; retrying next interval", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Poll performs one round at p's clock.
func (p *LagPoller) Poll(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, max(p.tr.Config().Interval, time.Second))
	defer cancel()
	cfg := p.s.cfg
	o, err := listOffsets(ctx, p.adm, cfg)
	if err != nil {
		return fmt.Errorf("kafka lag: %w", err)
	}
	ends := o.ends
	now := p.now()
	var firstErr error
	ends.Each(func(e kadm.ListedOffset) {
		if e.Err != nil && firstErr == nil {
			firstErr = fmt.Errorf("kafka lag: end offset of %s/%d: %w", e.Topic, e.Partition, e.Err)
		}
	})

	// Hand the owned partitions' samples over under the source's lock, so that a partition
	// revoked while the requests were in flight is forgotten, never resurrected.
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	for key, part := range p.tracked {
		if o, ok := p.s.owned[key]; !ok || o.revoking {
			p.tr.Forget(part)
			delete(p.tracked, key)
		}
	}
	for key, own := range p.s.owned {
		if own.revoking {
			continue
		}
		e, ok := ends.Lookup(key.topic, key.partition)
		if !ok || e.Err != nil {
			continue
		}
		p.tr.Observe(own.part, p.sample(now, e, o, own.next.Load()))
		p.tracked[key] = own.part
	}
	return firstErr
}

// sample builds one owned partition's Sample. next is the offset after the last record the
// source dispatched (0 before the first).
func (p *LagPoller) sample(now time.Time, e kadm.ListedOffset, o topicOffsets, next int64) lag.Sample {
	s := lag.Sample{Time: now, End: e.Offset, Committed: lag.Unknown, Processed: lag.Unknown, MillisBehind: lag.Unknown}
	if c, ok := o.committed.Lookup(e.Topic, e.Partition); ok && c.Err == nil && c.At >= 0 {
		s.Committed = c.At
	}
	s.Start = e.Offset
	if st, ok := o.starts.Lookup(e.Topic, e.Partition); ok && st.Err == nil {
		s.Start = st.Offset
	}
	s.Processed = next
	if next == 0 { // nothing dispatched yet: consumption resumes from the base
		s.Processed = o.base(e)
	}
	return s
}

// uncommitted reports whether any listed partition has no committed offset.
func uncommitted(ends kadm.ListedOffsets, committed kadm.OffsetResponses) bool {
	missing := false
	ends.Each(func(e kadm.ListedOffset) {
		if c, ok := committed.Lookup(e.Topic, e.Partition); !ok || c.Err != nil || c.At < 0 {
			missing = true
		}
	})
	return missing
}
