package pipeline

// closeUpTo hands every window that ends at or before the watermark to the partition's writer,
// in window order, then, if the watermark has passed a window end no partial reached, an empty
// partial for the last window it passed: that is how the fleet's aggregator learns the
// partition has passed those windows (a partition delivers a partial for a window or a later
// one; aggregator/progress.go). It returns false if the runner was stopped while waiting for
// room; the windows not yet handed over stay open for finish.
func (r *runner) closeUpTo() bool {
	for len(r.open) > 0 {
		w := r.open[0]
		if w.end > r.et.watermark {
			break
		}
		if !w.straddler {
			if !r.handOver(r.partialOf(w)) {
				return false
			}
		}
		r.written = max(r.written, w.end)
		copy(r.open, r.open[1:])
		r.open[len(r.open)-1] = nil
		r.open = r.open[:len(r.open)-1]
	}
	if c := r.closedThrough(); c > r.written {
		start := c - int64(r.rt.cfg.Period)
		cw := r.emptyPartial(start)
		if r.carry.ack.h != nil {
			// Drops carried from before the partition had a watermark: a window of its own,
			// with its operators' states counting them.
			cw = r.partialOf(r.newWindow(start, r.prev))
		}
		if !r.handOver(cw) {
			return false
		}
		r.written = c
	}
	return true
}

// end closes every window of a partition that ended (Batch.End: a Kinesis shard at SHARD_END),
// whatever the watermark says, and then writes an empty partial marked Ended for the window
// after the last one written: the aggregator takes the partition as past every later window.
func (r *runner) end() bool {
	r.ended = true
	period := int64(r.rt.cfg.Period)
	for len(r.open) > 0 {
		w := r.open[0]
		if !w.straddler {
			if !r.handOver(r.partialOf(w)) {
				return false
			}
		}
		r.written = max(r.written, w.end)
		r.open = r.open[1:]
	}
	start := r.written
	if start == 0 {
		// Nothing was ever written (a shard that had no record): any window will do, and the
		// wall clock's is the one the aggregator is at.
		now := r.rt.now().UnixNano()
		start = now - mod(now, period)
	}
	cw := r.emptyPartial(start)
	if r.carry.ack.h != nil {
		cw = r.partialOf(r.newWindow(start, r.prev))
	}
	cw.partial.Ended = true
	return r.handOver(cw)
}

// partialOf is a closed window's partial, its states not yet encoded: the writer does that.
func (r *runner) partialOf(w *openWindow) *closedWindow {
	cw := &closedWindow{
		partial: Partial{
			V: PartialVersion, Stream: r.p.Stream, Partition: r.p.ID, Start: w.start, End: w.end,
			Records: w.counts.records, Bytes: w.bytes, Dropped: w.counts.dropped(),
			First: partialPosition(w.recFirst), Last: partialPosition(w.recLast),
		},
		states: w.states,
		ack:    w.ack,
		counts: w.counts,
	}
	cw.ack.win = &closedSpan{start: w.start, end: w.end, last: w.last}
	return cw
}

// emptyPartial is the partial of the window starting at start for a partition that has nothing
// in it: no record, no count, no operator state, and no hold (losing it loses nothing).
func (r *runner) emptyPartial(start int64) *closedWindow {
	return &closedWindow{partial: Partial{
		V: PartialVersion, Stream: r.p.Stream, Partition: r.p.ID, Start: start, End: start + int64(r.rt.cfg.Period),
	}}
}

// partialPosition is a position as a partial records it: in its native form only, because a
// Kinesis ordinal is the lease's and a replay by another worker must write the same bytes.
func partialPosition(p Position) Position {
	if p.Seq != "" {
		p.Offset = 0
	}
	return p
}

// handOver queues a closed window's partial for the partition's writer. It first takes a
// credit, so a partition whose writer is MaxPendingWindows partials behind stops (backpressure:
// the runner waits, its feed stops taking batches, the source pauses the partition). It
// returns false if the runner was interrupted first, and abandons the partial's hold.
func (r *runner) handOver(cw *closedWindow) bool {
	select {
	case <-r.credits:
	default:
		r.clock.Enter(StageBackpressured)
		r.setBlocked()
		select {
		case <-r.credits:
		case <-r.interrupt:
			r.blocked.Store(false)
			r.clock.Enter(StageBusy)
			cw.ack.abandon()
			return false
		}
		r.blocked.Store(false)
		r.clock.Enter(StageBusy)
	}
	if cw.states != nil && r.storeBehind() {
		// An earlier window is not durable yet (it holds the other credit taken), so this one
		// will wait behind it (a slow or stalled store holds up to MaxPendingWindows of them a
		// partition): waiting as its encoded partial, it holds a fraction of what its
		// operators' states do. An error is left for the writer, which encodes again and
		// reports it.
		if body, err := r.writer.encode(cw); err == nil {
			cw.body = body
		}
	}
	r.writer.queue <- cw // never blocks: it holds as many as there are credits
	r.rt.metrics.pending.Inc()
	r.rt.alarm.window(cw.partial.Window(), &cw.counts, r.rt.cfg.Late)
	return true
}

// storeBehind reports whether the partition's store is behind: more than one of its closed
// windows is not durable yet, so the newest waits behind another. The feed reads it from the
// source's goroutine (Feed.held): a credit count, safe to read anywhere.
func (r *runner) storeBehind() bool { return cap(r.credits)-len(r.credits) > 1 }

// setBlocked marks the runner blocked handing a window over and wakes a source waiting for room.
func (r *runner) setBlocked() {
	r.blocked.Store(true)
	select {
	case r.blockedSig <- struct{}{}:
	default:
	}
}

// finish runs when the runner stops (commit.go, step 5): batches still queued are released
// unprocessed (whoever reads the partition next reads them again), the current dead letters are
// queued, the open windows are abandoned, and the writer is told there is nothing more.
func (r *runner) finish() {
	r.interrupt = r.abandon
	for {
		select {
		case b := <-r.in:
			if b.Done != nil {
				b.Done()
			}
			continue
		default:
		}
		break
	}
	r.sealLetters()
	r.abandonOpen()
	close(r.writer.queue)
	r.rt.metrics.RetireStageClock("runner", r.clock)
	r.forgetConfirmed()
}
