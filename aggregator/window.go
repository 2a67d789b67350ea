package aggregator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/weirstream/weir/pipeline"
)

// pending is a window merged and analyzed, on its way to durable. Each step is done once: a
// failed step is retried at the next poll without redoing the ones before (the analyzers, in
// particular, must see a window only once).
type pending struct {
	w                          pipeline.Window
	out                        *pipeline.Output
	missing                    []pipeline.Partition
	reported, claimed, settled bool
	durable, advanced          bool
}

// mergeFirst merges window w for the first time and runs the analyzers on it.
func (t *term) mergeFirst(ctx context.Context, w pipeline.Window, missing []pipeline.Partition) (*pending, error) {
	a := t.a
	began := time.Now()
	f, err := a.fold(ctx, w, t.g.partitions(w.Start.UnixNano()))
	if err != nil {
		return nil, err
	}
	f.summary.Missing = names(missing)
	for _, p := range f.ended {
		t.g.ended[p] = w.Start.UnixNano()
	}
	out := a.output(w, f)
	for _, an := range t.analyzers {
		an.Analyze(out)
	}
	a.m.mergeSeconds.Observe(time.Since(began).Seconds())
	if len(missing) > 0 {
		t.log.Warn("aggregator: window merged without missing partitions at the grace deadline",
			"window", rfc3339(w.Start), "missing", names(missing))
	}
	return &pending{w: w, out: out, missing: missing}, nil
}

// finish takes the pending window through its remaining steps: reports, the publish claim
// and publish, the analyzers' durable hook, and the state save that moves past it.
func (t *term) finish(ctx context.Context) error {
	a, pw := t.a, t.pending
	if !pw.reported {
		if err := t.writeReports(ctx, pw.out); err != nil {
			return err
		}
		pw.reported = true
		a.m.reportDelay.Observe(a.now().Sub(pw.w.End).Seconds())
	}
	if !pw.settled {
		if err := t.publish(ctx, pw); err != nil {
			return err
		}
		pw.settled = true
	}
	if !pw.durable {
		for _, an := range t.analyzers {
			if d, ok := an.(pipeline.DurableObserver); ok {
				d.Durable(pw.out)
			}
		}
		pw.durable = true
	}
	if !pw.advanced {
		t.st.Next = pw.w.End.UnixNano()
		if len(pw.missing) > 0 {
			t.watch(pw)
			a.m.windows.WithLabelValues("missing").Inc()
		} else {
			a.m.windows.WithLabelValues("complete").Inc()
		}
		pw.advanced = true
	}
	if err := t.save(ctx); err != nil {
		if !errors.Is(err, errFenced) {
			a.m.errors.WithLabelValues(opState).Inc()
		}
		return err
	}
	t.pending = nil
	t.g.forget(t.st.Next, t.isWatched)
	a.m.next.Set(float64(t.st.Next) / 1e9)
	return nil
}

// writeReports writes out's reports to every report sink. A failure is retried whole at the
// next poll: the keys are deterministic, so what was written is overwritten with itself.
func (t *term) writeReports(ctx context.Context, out *pipeline.Output) error {
	for _, s := range t.a.reports {
		if err := s.Write(ctx, out); err != nil {
			t.a.m.errors.WithLabelValues(opReports).Inc()
			t.a.sinkErrors.Add(1)
			return fmt.Errorf("aggregator: writing the reports of %s: %w", rfc3339(out.Window.Start), err)
		}
	}
	return nil
}
