package worker

import (
	"context"
	"errors"
	"time"
)

// Run starts everything and blocks until ctx ends (a signal), then shuts down in this order,
// all within cfg.ShutdownTimeout:
//
//  1. the demo generator stops (no new traffic);
//  2. the source stops fetching;
//  3. the runtime closes: every partition hands over its open windows, the merger flushes, the
//     sinks drain and close;
//  4. the source commits what is now durable and leaves the group, releasing its partitions;
//  5. task scale-in protection (if enabled) is released;
//  6. the HTTP server and the embedded broker stop.
//
// Each step only starts when the previous one finished, so nothing is committed that a sink has
// not made durable, and nothing is flushed that the source could still add to.
func (w *Assembly) Run(ctx context.Context) error {
	w.rt.Start()
	runCtx, stopSource := context.WithCancel(context.Background())
	srcDone := make(chan error, 1)
	go func() { srcDone <- w.src.run(runCtx, w.rt) }()
	genCtx, stopGen := context.WithCancel(context.Background())
	genDone := make(chan error, 1)
	if w.gen != nil {
		go func() { genDone <- w.gen.Run(genCtx) }()
	} else {
		genDone <- nil
	}
	if w.srv != nil {
		go w.srv.serve(w.log)
		w.srv.ready.Store(true)
		w.log.Info("serving /metrics, /healthz, /readyz", "addr", w.srv.addr())
	}
	// The lag poller and the scaling publisher run until the source stops.
	auxCtx, stopAux := context.WithCancel(context.Background())
	auxDone := make(chan struct{}, 2)
	go func() {
		w.src.lagFeed.Run(auxCtx)
		auxDone <- struct{}{}
	}()
	go func() {
		_ = w.scaler.Run(auxCtx, func(err error) { w.log.Warn("publishing the scaling signal", "err", err) })
		auxDone <- struct{}{}
	}()
	protectCtx, stopProtect := context.WithCancel(context.Background())
	protectDone := make(chan struct{})
	go func() {
		defer close(protectDone)
		if w.protect != nil {
			_ = w.protect.Run(protectCtx, func(err error) { w.log.Warn("task scale-in protection", "err", err) })
		}
	}()
	summaryDone := make(chan struct{})
	sumCtx, stopSummary := context.WithCancel(context.Background())
	go func() { defer close(summaryDone); w.summarize(sumCtx) }()

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-srcDone:
		w.log.Error("source stopped", "err", runErr)
		srcDone <- runErr
	}
	start := time.Now()
	w.log.Info("shutting down: stop fetching, flush windows, drain sinks, commit", "deadline", w.cfg.ShutdownTimeout)
	deadline, cancel := context.WithTimeout(context.Background(), w.cfg.ShutdownTimeout)
	defer cancel()
	if w.srv != nil {
		w.srv.ready.Store(false)
	}
	stopGen()
	<-genDone
	stopSource()
	if err := <-srcDone; err != nil && runErr == nil {
		runErr = err
	}
	stopAux()
	<-auxDone
	<-auxDone
	errs := []error{runErr}
	if err := w.rt.Close(deadline); err != nil {
		errs = append(errs, err)
	}
	if err := w.src.close(deadline); err != nil {
		errs = append(errs, err)
	}
	stopSummary()
	<-summaryDone
	// Protection is released last: until everything is durable and committed the task still
	// holds work that a scale-in would make someone redo.
	stopProtect()
	<-protectDone
	if w.srv != nil {
		w.srv.shutdown(deadline)
	}
	if w.broker != nil {
		w.broker.Close()
	}
	err := errors.Join(errs...)
	st := w.rt.Stats()
	w.log.Info("stopped", "took", time.Since(start).Round(time.Millisecond), "records", st.Records,
		"windows_flushed", st.WindowsFlushed, "err", err)
	return err
}
