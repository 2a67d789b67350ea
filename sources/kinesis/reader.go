package kinesis

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/weirstream/weir/pipeline"
)

// read is the goroutine of one held lease: it feeds the shard's records to the partition's
// runner, in order, until the lease is lost, Run stops, or the shard ends.
func (s *Source) read(ctx context.Context, h *held) {
	fetching := true
	defer func() {
		if fetching {
			s.readers.Done()
		}
		close(h.done)
	}()
	if h.prev != nil {
		select {
		case <-h.prev:
		case <-ctx.Done():
			return
		}
	}
	feed, err := s.rt.Assign(h.part, s.resumeAt(h.start))
	if err != nil {
		// Only a closed runtime refuses: the worker is shutting down, Close releases the lease.
		s.log.Warn("runtime refused a shard", "shard", h.shard, "err", err)
		return
	}
	r := &shardReader{s: s, h: h, feed: feed, poll: s.newPoller(h.shard, h.start)}
	if h.start.Checkpoint != cpTrimHorizon && h.start.Checkpoint != cpLatest && h.start.Checkpoint != cpAtTimestamp {
		r.skipSeq, r.skipSub = h.start.Checkpoint, h.start.Sub
	}
	ended := r.run(ctx)
	// Fetching has stopped, and Run, which waits only for that, may return: a shard end or a
	// handover still to finish here (a drain, a last write) is bounded by the shutdown
	// deadline instead, which Close applies (leaveCtx); Close leaves these leases to them.
	to := h.handoffTo.Load()
	h.leaving.Store(ended || to != nil)
	s.leaving.Add(1)
	defer s.leaving.Done()
	fetching = false
	s.readers.Done()
	switch {
	case h.lost.Load():
		// The lease is gone: stop the runner at once; its remaining commits are refused.
		done, cancel := context.WithCancel(context.Background())
		cancel()
		s.rt.Revoke(done, h.part)
	case ended:
		s.finishShard(ctx, h, r)
	case to != nil:
		s.handOver(h, *to)
	}
	// Otherwise Run is stopping: the runtime's Close stops the partition (its open windows are
	// read again by the next owner), Close checkpoints what is durable.
}

// shardReader turns fetches into batches.
type shardReader struct {
	s    *Source
	h    *held
	feed *pipeline.Feed
	poll *poller
	deag deaggregator

	offset int64 // the next record's Position.Offset (an ordinal per lease)
	last   pipeline.Position
	fed    bool // at least one record was fed under this lease
	// skipSeq/skipSub: the checkpoint this lease resumed from; records at or before it are
	// already durable (the iterator starts AT the checkpointed sequence number).
	skipSeq string
	skipSub int64
}

// run reads until the shard ends (true) or ctx ends (false).
func (r *shardReader) run(ctx context.Context) bool {
	for {
		if err := r.waitBudget(ctx); err != nil {
			return false
		}
		f, err := r.poll.next(ctx)
		if err != nil {
			return false
		}
		r.h.behind.set(f.millisBehind, time.Now())
		r.s.m.millisBehind.WithLabelValues(r.h.shard).Set(float64(f.millisBehind))
		b := r.batch(f)
		switch {
		case len(b.Records) > 0:
			if err := r.feed.Send(ctx, b); err != nil {
				b.Done()
				r.s.m.discarded.WithLabelValues("stopping").Add(float64(len(b.Records)))
				return false
			}
			r.h.next.Store(r.offset)
			r.last, r.fed = b.Records[len(b.Records)-1].Position, true
		case f.millisBehind == 0:
			// Caught up and nothing new: tell the runner, so the partition can go idle instead
			// of holding back every window, and again on every such fetch, so it knows the
			// claim is current: one that stops coming (GetRecords failing, throttled or not
			// answering) stops the wall clock closing the shard's windows over records that
			// reach it meanwhile (rule 4 of pipeline/eventtime.go).
			if err := r.feed.Send(ctx, b); err != nil {
				return false
			}
		}
		if f.end {
			return true
		}
	}
}

// batch converts a fetch into a Batch, splitting KPL aggregates, and charges its bytes to the
// budget (released by Done, when the runner has folded the records in).
func (r *shardReader) batch(f fetch) pipeline.Batch {
	b := pipeline.Batch{Partition: r.h.part, More: f.millisBehind > 0}
	if !b.More {
		b.CaughtUpAt = f.at
	}
	if len(f.records) == 0 {
		return b
	}
	recs := make([]pipeline.Record, 0, len(f.records))
	now := time.Now()
	var arrival time.Time
	for i := range f.records {
		kr := &f.records[i]
		seq := aws.ToString(kr.SequenceNumber)
		arrival = aws.ToTime(kr.ApproximateArrivalTimestamp)
		subs, err := r.deag.split(kr.Data)
		if err != nil {
			if !errors.Is(err, errNotAggregated) {
				r.s.m.deaggErrors.Inc()
				r.s.log.Warn("record with the KPL prefix is not a valid aggregate; passed on whole", "shard", r.h.shard, "seq", seq, "err", err)
			}
			recs = r.add(recs, seq, 0, []byte(aws.ToString(kr.PartitionKey)), kr.Data, arrival)
			continue
		}
		r.s.m.deaggregated.Inc()
		for j, sr := range subs {
			recs = r.add(recs, seq, int32(j), sr.Key, sr.Data, arrival)
		}
	}
	r.s.m.records.Add(float64(len(recs)))
	r.s.m.arrivalLag.WithLabelValues(r.h.shard).Set(max(0, now.Sub(arrival).Seconds()))
	if len(recs) == 0 {
		return b
	}
	var bytes int64
	for i := range recs {
		bytes += recs[i].Size()
	}
	r.s.budget.Charge(bytes)
	r.h.inflight.Add(bytes)
	b.Records, b.Bytes = recs, bytes
	b.Done = func() {
		r.h.inflight.Add(-bytes)
		r.s.budget.Release(bytes)
	}
	return b
}

// add appends one user record unless the checkpoint this lease resumed from covers it.
func (r *shardReader) add(recs []pipeline.Record, seq string, sub int32, key, data []byte, at time.Time) []pipeline.Record {
	if r.skipSeq != "" {
		if seq == r.skipSeq && int64(sub) <= r.skipSub {
			return recs
		}
		r.skipSeq = "" // past the checkpoint: sequence numbers only grow
	}
	recs = append(recs, pipeline.Record{
		Partition: r.h.part,
		Position:  pipeline.Position{Offset: r.offset, Seq: seq, Sub: sub},
		Key:       key,
		Value:     data,
		Time:      at,
	})
	r.offset++
	return recs
}

// waitBudget stops GetRecords while the in-flight budget is full and this shard holds part of
// it, until usage drops below 90% of the limit. A shard holding nothing keeps reading: stopping
// it would free nothing, and its windows (and the fleet's reports, which wait for every shard's
// partial) would stop closing (the Kafka source does the same).
func (r *shardReader) waitBudget(ctx context.Context) error {
	b := r.s.budget
	if !b.Full() || r.h.inflight.Load() == 0 {
		return nil
	}
	r.s.m.budgetWaits.Inc()
	resume := b.Limit() * 9 / 10
	for b.InUse() >= resume && r.h.inflight.Load() > 0 {
		select {
		case <-b.Released():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// finishShard runs when a closed shard has been read to its end: give its children leases,
// tell the runner the shard ended (it closes every window, whatever the watermark, and writes a
// last partial marked Ended: the aggregator takes the shard as past every later window), let
// the runtime wait until those partials are durable (Revoke), then checkpoint SHARD_END and
// release the lease in one fenced write. Only then may the shard's children be read, which the
// next take round arranges.
func (s *Source) finishShard(ctx context.Context, h *held, r *shardReader) {
	// The children get their leases before the end is written: the fleet's aggregator reads
	// the partition set (the lease table) before it merges the window of the parent's last
	// partial, and a child not yet in it would have its partial of that window left out. A
	// failed sync is logged and the shard finishes anyway: the next sync creates the leases,
	// and only that one window is at risk.
	if err := s.syncShards(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("creating the leases of a finished shard's children failed; the next shard sync will", "shard", h.shard, "err", err)
	}
	rctx, cancel := context.WithTimeout(ctx, s.cfg.DrainTimeout)
	ended := make(chan struct{})
	if err := r.feed.Send(rctx, pipeline.Batch{Partition: h.part, End: true, Done: func() { close(ended) }}); err == nil {
		select { // Revoke must not stop the runner before it has read the end
		case <-ended:
		case <-rctx.Done():
		}
	}
	s.rt.Revoke(rctx, h.part)
	drained := rctx.Err() == nil
	cancel()
	cand, ok := h.candidate()
	complete := drained && (!r.fed || (ok && cand.Position.Seq == r.last.Seq && cand.Position.Sub == r.last.Sub))
	if !complete {
		// Not everything became durable in time (or Run is stopping): give the lease back with
		// what is durable; whoever takes it re-reads the tail and reaches the end again.
		s.m.leaseEvents.WithLabelValues("shard_end_deferred").Inc()
		s.log.Warn("shard ended but its last records are not durable; releasing it for a re-read", "shard", h.shard)
		wctx, wcancel := context.WithTimeout(s.leaveCtx, s.cfg.renewInterval())
		_ = s.releaseLease(wctx, h)
		wcancel()
		return
	}
	err := s.lastWrite(h, func(ctx context.Context, counter int64) (int64, string, error) {
		return noHandoff(s.store.checkpoint(ctx, h.shard, s.cfg.WorkerID, counter, cpShardEnd, 0, "", true))
	})
	if err != nil {
		s.checkpointFailed(err) // the lease is forgotten (lastWrite): nothing retries it
		s.log.Warn("checkpointing SHARD_END failed; the next owner re-reads the shard's tail", "shard", h.shard, "err", err)
		return
	}
	s.m.leaseEvents.WithLabelValues("shard_end").Inc()
	s.log.Info("shard read to its end", "shard", h.shard, "records", strconv.FormatInt(r.offset, 10))
	signal(s.syncNow)
}

// resumeAt is the checkpoint a lease's shard is resumed at: the lease's sequence number with
// the event-time state written with it (pipeline.Checkpoint), or the sequence number alone when
// the state is missing or of another position (an older weir's lease, one the KCL wrote),
// which is logged once; nil for a shard read from its start.
func (s *Source) resumeAt(l lease) *pipeline.Checkpoint {
	if !l.started() || l.finished() {
		s.m.resumed.WithLabelValues("none").Inc()
		return nil
	}
	// Offset -1: before the first ordinal this lease gives its records (shardReader.offset).
	at := pipeline.Position{Offset: -1, Seq: l.Checkpoint, Sub: int32(l.Sub)}
	cp, err := pipeline.ParseCheckpoint(l.State)
	if err == nil && cp.Position.Seq == at.Seq && cp.Position.Sub == at.Sub {
		cp.Position = at
		s.m.resumed.WithLabelValues("restored").Inc()
		return &cp
	}
	if err == nil {
		err = errors.New("the state is of sequence number " + cp.Position.String())
	}
	s.m.resumed.WithLabelValues("without_state").Inc()
	s.foreignOnce.Do(func() {
		s.log.Warn("a lease's checkpoint carries no event-time state weir can use; the shard resumes without it "+
			"(replayed records may fall in windows differently; logged once)", "shard", l.Shard, "why", err)
	})
	return &pipeline.Checkpoint{Position: at}
}
