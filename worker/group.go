package worker

import (
	"context"
	"errors"
	"log/slog"
)

// part is one long-running piece of the worker: the source's fetching, the runtime, a sink
// writer's flush, the HTTP server. Run starts the parts in the order they were added and, at
// shutdown, stops them in the reverse order, each only once the one after it has finished:
// so the order is written once, as the list of parts in Build (see the Part… names).
type part struct {
	name string
	// start, if set, launches the part synchronously, before the next part starts (the
	// runtime must be running before the source assigns it partitions).
	start func()
	// run, if set, is the part's goroutine: it runs until its context ends. With ends set, its
	// return before the shutdown began (the source failing) shuts the worker down and its
	// error is the worker's; other parts that return early only finish (an error is logged).
	run  func(ctx context.Context) error
	ends bool
	// stop, if set, ends the part: flush, drain, commit, release, close. It is called once
	// run's context was cancelled, with the shutdown deadline; an error is the worker's. The
	// part has stopped when both stop and run returned (an HTTP server's Serve returns only
	// once its Shutdown was called).
	stop func(ctx context.Context) error
	// settle, if set, is called with the shutdown deadline before run's context is cancelled:
	// a part that can finish what it has (the aggregator merging the windows that are
	// complete) does so while it still runs.
	settle func(ctx context.Context)
}

// group runs parts; see part.
type group struct {
	log     *slog.Logger
	parts   []part
	running []*running
	// ended receives the error of the first ends-part whose goroutine returned by itself.
	ended chan error
}

type running struct {
	part   part
	cancel context.CancelFunc
	done   chan struct{} // closed when run returned
	err    error         // run's result, read after done
	// stopped: run returned once its context was cancelled (the shutdown), not by itself.
	stopped bool
}

func newGroup(log *slog.Logger) *group { return &group{log: log, ended: make(chan error, 1)} }

func (g *group) add(p part) { g.parts = append(g.parts, p) }

// start starts every part, in order.
func (g *group) start() {
	for _, p := range g.parts {
		if p.start != nil {
			p.start()
		}
		r := &running{part: p}
		g.running = append(g.running, r)
		if p.run == nil {
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		r.cancel, r.done = cancel, make(chan struct{})
		go func() {
			defer close(r.done)
			r.err = p.run(ctx)
			r.stopped = ctx.Err() != nil
			switch {
			case r.stopped:
			case p.ends:
				g.log.Error(p.name+" stopped", "err", r.err)
				select {
				case g.ended <- r.err:
				default:
				}
			case r.err != nil:
				g.log.Warn(p.name+" stopped", "err", r.err)
			}
		}()
	}
}

// stop stops the parts in reverse order within ctx, calling after (if set) as each one has
// stopped, and returns the errors of the ends-parts' goroutines and of the stops.
func (g *group) stop(ctx context.Context, after func(name string)) error {
	var errs []error
	for i := len(g.running) - 1; i >= 0; i-- {
		r := g.running[i]
		if r.part.settle != nil {
			r.part.settle(ctx)
		}
		if r.cancel != nil {
			r.cancel()
		}
		if r.part.stop != nil {
			errs = append(errs, r.part.stop(ctx))
		}
		if r.cancel != nil {
			<-r.done
			// A part stopped while it was still starting (a source checking its stream and
			// lease table when the SIGTERM came) returns the cancellation it was handed: that
			// is the shutdown asked for, not a failure, and must not make the exit non-zero.
			if r.part.ends && !(r.stopped && errors.Is(r.err, context.Canceled)) {
				errs = append(errs, r.err)
			}
		}
		if after != nil {
			after(r.part.name)
		}
	}
	return errors.Join(errs...)
}
