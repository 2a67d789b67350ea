package pipeline

import (
	"context"
	"time"
)

// partialWriter makes one partition's partials durable, one at a time and in window order: the
// fleet's aggregator reads a partition's partial of a later window as "nothing for the earlier
// ones" (Partial), so W+1 must never be visible while W is in flight. Partitions write in
// parallel, at most Options.WriteConcurrency at once across the runtime. A partial's hold is
// released once the store has it (commit.go); a write that fails is retried with backoff until
// it succeeds or the stop deadline passes, and everything after it waits: nothing of the
// partition is committed past a partial that could not be encoded or written.
type partialWriter struct {
	rt    *Runtime
	p     Partition
	ops   []Operator
	queue chan *closedWindow // as long as the runner's credits
	// credits is the runner's: one goes back with every partial done with.
	credits chan struct{}
	done    chan struct{} // closed when run returned
	// ctx ends at the stop deadline: what is not written by then is abandoned.
	ctx    context.Context
	cancel context.CancelFunc
	clock  *StageClock
}

// closedWindow is a partial on its way to the store: everything but its operators' states,
// which the writer encodes (the runner has let go of them), and the hold it releases. A window
// that will wait behind others is encoded by the runner as it is handed over instead (body),
// so a stalled store holds partials' bytes, not states (handover.go).
type closedWindow struct {
	partial Partial
	states  []State // indexed like the runtime's operators; nil where none
	// body is the encoded partial when the runner encoded it already (handOver does for a
	// window that will wait behind others), nil for the writer to encode.
	body   []byte
	ack    ack
	counts windowCounts
}

func newPartialWriter(rt *Runtime, p Partition, ops []Operator, credits chan struct{}) *partialWriter {
	w := &partialWriter{rt: rt, p: p, ops: ops, queue: make(chan *closedWindow, cap(credits)), credits: credits,
		done: make(chan struct{}), clock: rt.metrics.StageClock("partials")}
	w.ctx, w.cancel = context.WithCancel(rt.sinkCtx)
	return w
}

// run writes the queued partials until the runner closes the queue. After a write that never
// succeeded (the deadline passed) it abandons the rest: their windows must be read again, and a
// later partial made durable would hide the gap from the aggregator.
func (w *partialWriter) run() {
	defer close(w.done)
	defer w.rt.metrics.RetireStageClock("partials", w.clock)
	failed := false
	for cw := range w.queue {
		ok := !failed && w.write(cw)
		w.rt.metrics.pending.Dec()
		w.credits <- struct{}{} // cannot block: the runner took it
		if !ok {
			failed = true
			cw.ack.abandon()
			continue
		}
		cw.ack.durable()
		w.rt.stats.partials.Add(1)
		w.rt.metrics.partials.Inc()
		w.rt.metrics.partialDelay.Observe(w.rt.now().Sub(time.Unix(0, cw.partial.End)).Seconds())
	}
}

// write encodes and stores one partial, retrying until it succeeds or ctx ends.
func (w *partialWriter) write(cw *closedWindow) bool {
	body := cw.body
	cw.body = nil
	start := time.Unix(0, cw.partial.Start).UTC()
	return retryUntil(w.ctx, func() error {
		w.clock.Enter(StageBusy)
		defer w.clock.Enter(StageIdle)
		if body == nil {
			var err error
			if body, err = w.encode(cw); err != nil {
				return err
			}
		}
		select {
		case w.rt.writeSlots <- struct{}{}:
		case <-w.ctx.Done():
			return w.ctx.Err()
		}
		defer func() { <-w.rt.writeSlots }()
		began := time.Now()
		err := w.rt.partials.WritePartial(w.ctx, start, w.p, body)
		w.rt.metrics.sinkSeconds.WithLabelValues(sinkPartials).Observe(time.Since(began).Seconds())
		if err == nil {
			w.rt.sinkHealth[0].succeeded()
		}
		return err
	}, func(attempt int, err error) {
		w.rt.sinkHealth[0].failed(err)
		w.rt.metrics.sinkErrors.WithLabelValues(sinkPartials).Inc()
		w.rt.stats.sinkErrors.Add(1)
		w.rt.log.Warn("writing a partial failed; the window stays unacknowledged and the write is retried",
			"partition", w.p.String(), "window", start, "attempt", attempt, "err", err)
	})
}

// encode serialises the partial with its operators' states. The states are released after:
// the partial's bytes are all that is retried.
func (w *partialWriter) encode(cw *closedWindow) ([]byte, error) {
	p := &cw.partial
	p.Ops = p.Ops[:0]
	for i, st := range cw.states {
		if st == nil {
			continue
		}
		os, err := NewOpState(w.ops[i], st)
		if err != nil {
			return nil, err
		}
		p.Ops = append(p.Ops, os)
	}
	body, err := EncodePartial(p)
	if err != nil {
		return nil, err
	}
	cw.states, p.Ops = nil, nil
	return body, nil
}

// sinkPartials labels the partial writes in weir_sink_write_errors_total and
// weir_sink_write_duration_seconds.
const sinkPartials = "partials"
