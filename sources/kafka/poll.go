package kafka

import (
	"context"
	"errors"
	"time"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/pipeline"
)

// RecordOverhead is what each fetched record costs beyond its key and value while it is in
// flight: franz-go's kgo.Record and weir's pipeline.Record. It is charged to the budget with
// the payload, so the budget bounds memory and not just payload bytes: with ~200-byte records
// the structs are more than the payload.
const RecordOverhead = int64(unsafe.Sizeof(kgo.Record{}) + unsafe.Sizeof(pipeline.Record{}))

// pendingRecheck is how often a poll loop with paused partitions wakes up to offer their
// waiting batches again. Short, because a runner resumes as soon as its sink returns.
const pendingRecheck = 20 * time.Millisecond

// Run polls until ctx ends, handing each partition's records to its runner. It returns once it
// has stopped fetching; the caller then closes the runtime and calls Close.
//
// Backpressure has two levels. A partition whose runner is blocked on its sinks (Feed.TrySend),
// or whose queue stays full for longer than FetchMaxWait, is paused (its batches wait in the
// source, at most what one fetch returned) and resumed when the runner takes them. A runner that
// is merely busy is waited for instead, with polling stopped (Feed.SendWhileBusy), unless other
// partitions' batches are waiting to be offered: the client then holds at most one fetch, and
// the partition stays in the fetches that follow.
// When the global in-flight budget is full, every partition holding part of it is paused until
// usage drops below 90% of the budget; partitions holding nothing keep fetching (see Run), and
// once none is left the loop stops polling. In-flight bytes therefore exceed the budget by at
// most one fetch per broker (FetchMaxBytes each).
func (s *Source) Run(ctx context.Context, rt pipeline.Assigner) error {
	s.rt = rt
	close(s.rtReady)
	resumeAt := s.budget.Limit() * 9 / 10
	budgetPaused := false
	for {
		if ctx.Err() != nil {
			return nil
		}
		if s.budget.Full() || budgetPaused {
			released := s.budget.Released()
			if s.budget.InUse() < resumeAt {
				s.resumeBudget()
				budgetPaused = false
			} else {
				if !budgetPaused {
					s.m.budgetWaits.Inc()
					budgetPaused = true
				}
				// Pause every partition holding part of the budget and keep fetching only those
				// holding none: the merger may be waiting for exactly those, while the
				// partitions that filled the budget wait for the merger. Stopping all fetching
				// here would deadlock, and so would leaving a partition paused once it has
				// drained to nothing, so this is re-evaluated after every release.
				if !s.balanceBudget() {
					s.clock.Enter(pipeline.Backpressured)
					select {
					case <-released:
					case <-ctx.Done():
						return nil
					}
					continue
				}
			}
		}
		s.clock.Enter(pipeline.Busy)
		pollCtx, cancel := ctx, context.CancelFunc(nil)
		s.batchesWaiting = s.offerPending()
		if s.batchesWaiting || budgetPaused {
			pollCtx, cancel = context.WithTimeout(ctx, pendingRecheck)
		}
		s.clock.Enter(pipeline.Idle)
		fetches := s.cl.PollRecords(pollCtx, s.cfg.MaxPollRecords)
		if cancel != nil {
			cancel()
		}
		s.clock.Enter(pipeline.Busy)
		if fetches.IsClientClosed() {
			return errors.New("kafka: client closed while polling")
		}
		fetches.EachError(func(topic string, p int32, err error) {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return
			}
			s.m.fetchErrors.Inc()
			s.log.Warn("fetch error", "topic", topic, "partition", p, "err", err)
		})
		fetches.EachPartition(func(fp kgo.FetchTopicPartition) { s.dispatch(ctx, fp) })
		s.cl.AllowRebalance()
	}
}

// balanceBudget pauses, for the budget, every partition with bytes in flight, resumes those
// holding none, and reports whether any partition is left to fetch.
func (s *Source) balanceBudget() (starved bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, o := range s.owned {
		if o.revoking {
			continue
		}
		if o.inflight.Load() == 0 {
			starved = true
			s.resumeLocked(key, o, pausedBudget)
			continue
		}
		s.pauseLocked(key, o, pausedBudget)
	}
	return starved
}

// resumeBudget lifts the budget pause from every partition.
func (s *Source) resumeBudget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, o := range s.owned {
		s.resumeLocked(key, o, pausedBudget)
	}
}

func (s *Source) pauseLocked(key tp, o *owned, why pauseReason) {
	if o.paused&why != 0 {
		return
	}
	if o.paused == 0 {
		s.m.paused.Inc()
		s.m.pauses.WithLabelValues(why.String()).Inc()
		s.cl.PauseFetchPartitions(map[string][]int32{key.topic: {key.partition}})
	}
	o.paused |= why
}

func (s *Source) resumeLocked(key tp, o *owned, why pauseReason) {
	if o.paused&why == 0 {
		return
	}
	o.paused &^= why
	if o.paused == 0 {
		s.m.paused.Dec()
		s.cl.ResumeFetchPartitions(map[string][]int32{key.topic: {key.partition}})
	}
}

// dispatch converts one partition's fetched records into a Batch and offers it to the runner.
func (s *Source) dispatch(ctx context.Context, fp kgo.FetchTopicPartition) {
	if len(fp.Records) == 0 {
		return
	}
	s.mu.Lock()
	o, ok := s.owned[tp{fp.Topic, fp.Partition}]
	s.mu.Unlock()
	if !ok || o.revoking {
		s.m.discarded.WithLabelValues("not_owned").Add(float64(len(fp.Records)))
		recycle(fp.Records)
		return
	}
	krs := fp.Records
	recs := s.slices.get(len(krs))
	var bytes int64
	for _, kr := range fp.Records {
		r := pipeline.Record{
			Partition: o.part,
			Position:  pipeline.Position{Offset: kr.Offset},
			Key:       kr.Key,
			Value:     kr.Value,
			Time:      kr.Timestamp,
		}
		if len(kr.Headers) > 0 {
			r.Headers = make([]pipeline.Header, len(kr.Headers))
			for i, h := range kr.Headers {
				r.Headers[i] = pipeline.Header{Key: h.Key, Value: h.Value}
			}
		}
		bytes += r.Size() + RecordOverhead
		recs = append(recs, r)
	}
	s.budget.Charge(bytes)
	o.inflight.Add(bytes)
	last := fp.Records[len(fp.Records)-1].Offset
	o.hwm.Store(fp.HighWatermark)
	o.next.Store(last + 1)
	b := pipeline.Batch{Partition: o.part, Records: recs, Bytes: bytes, More: last+1 < fp.HighWatermark}
	b.Done = func() {
		o.inflight.Add(-bytes)
		s.budget.Release(bytes)
		clear(recs) // drop references to the fetched buffers before pooling
		s.slices.put(recs)
		recycle(krs)
	}
	s.mu.Lock()
	waiting := len(o.pending) > 0
	s.mu.Unlock()
	if !waiting {
		// Wait for a busy runner (Feed.SendWhileBusy), for at most the fetch max wait: pausing
		// costs at most that much. But not while other partitions' batches wait in the source:
		// only this loop offers them to their runners, which would go idle meanwhile (after a
		// sink stall, with every partition holding some, the catch-up ran at a third of the
		// rate). Not under s.mu, which commits take.
		wait := s.cfg.FetchMaxWait
		if s.batchesWaiting {
			wait = 0
		}
		if o.feed.SendWhileBusy(ctx, b, wait) {
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o.pending = append(o.pending, b)
	s.batchesWaiting = true
	s.pauseLocked(tp{fp.Topic, fp.Partition}, o, pausedQueueFull)
}

// recycle hands fetched records back to franz-go's pools (fetchPools): their keys, values and
// headers may be overwritten from then on.
func recycle(krs []*kgo.Record) {
	for _, kr := range krs {
		kr.Recycle()
	}
}

// offerPending offers every paused partition's waiting batches to its runner again, resumes the
// partitions whose batches were all taken, and reports whether any are still waiting.
func (s *Source) offerPending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	waiting := false
	for key, o := range s.owned {
		if o.paused&pausedQueueFull == 0 || o.revoking {
			continue
		}
		for len(o.pending) > 0 && o.feed.TrySend(o.pending[0]) {
			o.pending[0] = pipeline.Batch{}
			o.pending = o.pending[1:]
		}
		if len(o.pending) > 0 {
			waiting = true
			continue
		}
		o.pending = nil
		s.resumeLocked(key, o, pausedQueueFull)
	}
	return waiting
}
