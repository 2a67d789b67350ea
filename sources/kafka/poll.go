package kafka

import (
	"context"
	"errors"
	"sync"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/pipeline"
)

// RecordOverhead is what each fetched record costs beyond its key and value while it is in
// flight: franz-go's kgo.Record and weir's pipeline.Record. It is charged to the budget with
// the payload, so the budget bounds memory and not just payload bytes: with ~200-byte records
// the structs are more than the payload.
const RecordOverhead = int64(unsafe.Sizeof(kgo.Record{}) + unsafe.Sizeof(pipeline.Record{}))

// Run polls until ctx ends, handing each partition's records to its runner. It returns once it
// has stopped fetching; the caller then closes the runtime and calls Close.
//
// Flow control is per partition (gate.go): a runner that is busy is waited for, one that is
// blocked on its sinks has its partition paused with the batch waiting in the source, and a
// full in-flight budget pauses the partitions holding it. The client then holds at most one
// fetch, so in-flight bytes exceed the budget by at most one fetch per broker (FetchMaxBytes
// each).
func (s *Source) Run(ctx context.Context, rt pipeline.Assigner) error {
	s.rt = rt
	close(s.rtReady)
	context.AfterFunc(ctx, func() { close(s.stopping) })
	// The committer outlives Run: the runtime commits what becomes durable while it closes,
	// and Close stores the last checkpoints.
	cctx, stop := context.WithCancel(context.Background())
	s.stopCommits, s.commitsDone = stop, make(chan struct{})
	go func() {
		defer close(s.commitsDone)
		s.commits.run(cctx, s.cfg.CommitInterval)
	}()
	// Beside the poll loop, which blocks while nothing arrives: the pools' trims, and the
	// confirmations that caught-up partitions still are (caughtup.go).
	bctx, stopBeside := context.WithCancel(ctx)
	var beside sync.WaitGroup
	beside.Go(func() { s.trimPoolsEvery(bctx, poolTrimEvery) })
	beside.Go(func() { s.confirmCaughtUp(bctx, caughtUpEvery) })
	defer func() { stopBeside(); beside.Wait() }()
	for {
		if ctx.Err() != nil || !s.underBudget(ctx) {
			return nil
		}
		s.clock.Enter(pipeline.StageBusy)
		pollCtx, cancel := ctx, context.CancelFunc(nil)
		s.batchesWaiting = s.retryWaiting()
		if s.batchesWaiting || s.budgetPaused {
			pollCtx, cancel = context.WithTimeout(ctx, pendingRecheck)
		}
		s.clock.Enter(pipeline.StageIdle)
		fetches := s.cl.PollRecords(pollCtx, s.cfg.MaxPollRecords)
		if cancel != nil {
			cancel()
		}
		s.clock.Enter(pipeline.StageBusy)
		if fetches.IsClientClosed() {
			return errors.New("kafka: client closed while polling")
		}
		fetches.EachError(s.fetchError)
		fetches.EachPartition(func(fp kgo.FetchTopicPartition) { s.dispatch(ctx, fp) })
		s.cl.AllowRebalance()
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
	o.gate.inflight.Add(bytes)
	last := fp.Records[len(fp.Records)-1].Offset
	o.hwm.Store(fp.HighWatermark)
	o.next.Store(last + 1)
	b := pipeline.Batch{Partition: o.part, Records: recs, Bytes: bytes, More: last+1 < fp.HighWatermark}
	b.Done = func() {
		o.gate.inflight.Add(-bytes)
		s.budget.Release(bytes)
		clear(recs) // drop references to the fetched buffers before pooling
		s.slices.put(recs)
		recycle(krs)
	}
	// Wait for a busy runner for at most the fetch max wait (pausing costs at most that much),
	// but not while other partitions' batches wait in their gates: only this loop offers them
	// to their runners, which would go idle meanwhile.
	wait := s.cfg.FetchMaxWait
	if s.batchesWaiting {
		wait = 0
	}
	if o.gate.hand(ctx, b, wait) {
		s.batchesWaiting = true
	}
}

// recycle hands fetched records back to franz-go's pools (fetchPools): their keys, values and
// headers may be overwritten from then on.
func recycle(krs []*kgo.Record) {
	for _, kr := range krs {
		kr.Recycle()
	}
}
