package pipeline

// closeUpTo hands every window that ends at or before the watermark to the merger (all open
// windows when final), then reports progress. It returns false if the runner was stopped while
// waiting for a credit or for room in the merger's queue; the windows not yet handed over stay
// open for finish.
func (r *runner) closeUpTo(final bool) bool {
	for len(r.open) > 0 {
		w := r.open[0]
		if !final && w.end > r.et.watermark {
			break
		}
		if !r.handOver(w, final) {
			if !final {
				return false
			}
			// The shutdown deadline passed before the merger took the window: its records will
			// be read again by whoever owns the partition next, so the commit point must stay
			// below them for good.
			r.holds.abandon(w.hold)
		}
		copy(r.open, r.open[1:])
		r.open[len(r.open)-1] = nil
		r.open = r.open[:len(r.open)-1]
		// Report progress window by window, not only at the end: the next hand-over may wait
		// for a credit that only comes back once the merger emits this window, which it does
		// only when it knows this partition is past it.
		if !final && w.end > r.closedAt {
			r.closedAt = w.end
			if !r.send(mergeMsg{kind: msgProgress, p: r.p, closed: w.end, idle: r.idle}, false) {
				return false
			}
		}
	}
	if final {
		return true
	}
	return r.report()
}

// report tells the merger how far this partition has closed windows and whether it is idle
// (rules 4 and 6), when either changed since it last did.
func (r *runner) report() bool {
	closed := r.closedAt
	if wm := r.et.watermark; wm != minTime { // (before the first watermark the arithmetic would wrap)
		closed = max(closed, wm-mod(wm, int64(r.rt.cfg.Period)))
	}
	idle := r.quiet && len(r.open) == 0
	if closed == r.closedAt && idle == r.idle {
		return true
	}
	r.closedAt, r.idle = closed, idle
	return r.send(mergeMsg{kind: msgProgress, p: r.p, closed: closed, idle: idle}, false)
}

// handOver sends a window's partial to the merger. Unless final, it first takes a credit, so a
// partition that runs ahead of its sinks stops after MaxPendingWindows windows.
func (r *runner) handOver(w *openWindow, final bool) bool {
	credit := false
	if !final {
		select {
		case <-r.credits:
			credit = true
		default:
			r.clock.Enter(StageBackpressured)
			r.setBlocked()
			select {
			case <-r.credits:
				credit = true
			case <-r.interrupt:
			}
			r.blocked.Store(false)
			r.clock.Enter(StageBusy)
			if !credit {
				return false
			}
		}
	}
	m := mergeMsg{kind: msgPartial, p: r.p, win: w.win, states: w.states, hold: w.hold,
		holds: r.holds, first: w.first, final: final, counts: w.counts}
	if credit {
		m.credits = r.credits
	}
	if r.send(m, final) {
		return true
	}
	if credit {
		r.credits <- struct{}{} // cannot block: we just took it
	}
	return false
}

// setBlocked marks the runner blocked handing a window over and wakes a source waiting for room.
func (r *runner) setBlocked() {
	r.blocked.Store(true)
	select {
	case r.blockedSig <- struct{}{}:
	default:
	}
}

// send hands a message to the merger, blocking while its queue is full (backpressure).
// Final hand-overs ignore stop (they are the stop) and give up only when the stop deadline
// passes.
func (r *runner) send(m mergeMsg, final bool) bool {
	select {
	case r.rt.merge <- m:
		return true
	default:
	}
	r.clock.Enter(StageBackpressured)
	r.setBlocked()
	defer func() {
		r.blocked.Store(false)
		r.clock.Enter(StageBusy)
	}()
	interrupt := r.interrupt
	if final {
		interrupt = r.abandon
	}
	select {
	case r.rt.merge <- m:
		return true
	case <-interrupt:
		return false
	}
}

// finish runs when the runner stops. On shutdown, batches still queued are processed first
// (they are already in memory, and each is little work); on revoke they are released
// unprocessed, because the next owner reads them again anyway and the rebalance is waiting.
// Then every open window is handed over as final, so what was processed can be made durable and
// committed.
func (r *runner) finish() {
	r.interrupt = r.abandon
	drain := r.rt.draining.Load()
	for {
		select {
		case b := <-r.in:
			if drain {
				r.process(b)
			} else if b.Done != nil {
				b.Done()
			}
			continue
		default:
		}
		break
	}
	r.sealLetters()
	r.closeUpTo(true)
	r.rt.metrics.RetireStageClock("runner", r.clock)
}
