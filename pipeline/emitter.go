package pipeline

import (
	"sync"
	"sync/atomic"
	"time"
)

// emission is one window output on its way through the sinks.
type emission struct {
	out       *Output
	contrib   []contribution
	remaining atomic.Int32 // sinks that have not yet made out durable
}

// emitter fans each window output out to every sink. Each sink has its own writer goroutine and
// a small bounded queue, so sinks work in parallel and each sees outputs in window order; the
// dispatcher blocks when a sink's queue is full, which blocks the merger, which blocks the
// runners: backpressure from the slowest sink all the way to the source.
type emitter struct {
	rt      *Runtime
	writers []*sinkWriter
}

type sinkWriter struct {
	rt     *Runtime
	sink   Sink
	health *sinkHealth
	queue  chan *emission
	clock  *StageClock
}

// sinkQueue is each sink's queue length: enough to overlap one write with the next window's
// merge, small because every queued output pins its partitions' commit points.
const sinkQueue = 2

func newEmitter(rt *Runtime) *emitter {
	e := &emitter{rt: rt}
	for _, s := range rt.sinks {
		e.writers = append(e.writers, &sinkWriter{rt: rt, sink: s, health: rt.sinkHealth[len(e.writers)], queue: make(chan *emission, sinkQueue)})
	}
	return e
}

func (e *emitter) run() {
	var wg sync.WaitGroup
	for _, w := range e.writers {
		wg.Add(1)
		w.clock = e.rt.metrics.StageClock("sink")
		go func() {
			defer wg.Done()
			w.run()
		}()
	}
	for em := range e.rt.emit {
		if len(e.writers) == 0 {
			e.rt.durable(em)
			continue
		}
		em.remaining.Store(int32(len(e.writers)))
		for _, w := range e.writers {
			w.queue <- em
		}
	}
	for _, w := range e.writers {
		close(w.queue)
	}
	wg.Wait()
}

func (w *sinkWriter) run() {
	defer w.rt.metrics.RetireStageClock("sink", w.clock)
	for em := range w.queue {
		if w.write(em) && em.remaining.Add(-1) == 0 {
			w.rt.durable(em)
		}
	}
}

// write retries until the sink accepts the output or the runtime gives up at its shutdown
// deadline. A window that is never written is never acknowledged, so its records are read
// again after a restart: failing here costs a replay, never data.
func (w *sinkWriter) write(em *emission) bool {
	name := w.sink.Name()
	return retryUntil(w.rt.sinkCtx, func() error {
		w.clock.Enter(StageBusy)
		defer w.clock.Enter(StageIdle)
		start := time.Now()
		err := w.sink.Write(w.rt.sinkCtx, em.out)
		w.rt.metrics.sinkSeconds.WithLabelValues(name).Observe(time.Since(start).Seconds())
		if err == nil {
			w.health.succeeded()
		}
		return err
	}, func(attempt int, err error) {
		w.health.failed(err)
		w.rt.metrics.sinkErrors.WithLabelValues(name).Inc()
		w.rt.stats.sinkErrors.Add(1)
		w.rt.log.Warn("sink write failed; window stays unacknowledged and will be retried",
			"sink", name, "window", em.out.Window.Start, "attempt", attempt, "err", err)
	})
}

// durable runs once every sink has made an output durable: release its partitions' holds (which
// may commit) and return the runners' credits.
func (rt *Runtime) durable(em *emission) {
	for _, c := range em.contrib {
		c.holds.release(c.hold)
		if c.credits != nil {
			select {
			case c.credits <- struct{}{}:
			default: // the runner is gone; nobody waits for the credit
			}
		}
	}
	for _, a := range rt.analyzers {
		if d, ok := a.(DurableObserver); ok {
			d.Durable(em.out)
		}
	}
	rt.metrics.windows.Inc()
	rt.stats.windows.Add(1)
	rt.metrics.flushDelay.Observe(rt.now().Sub(em.out.Window.End).Seconds())
	if rt.onDurable != nil {
		rt.onDurable(em.out)
	}
}
