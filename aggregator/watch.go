package aggregator

import (
	"context"
	"slices"
	"time"

	"github.com/weirstream/weir/pipeline"
)

// watch starts watching a window merged with missing partitions, dropping the oldest watched
// window if there are too many.
func (t *term) watch(pw *pending) {
	t.st.Watched = append(t.st.Watched, watched{
		Start: pw.w.Start.UnixNano(), End: pw.w.End.UnixNano(), Since: t.a.now().UnixNano(),
		Missing: slices.Clone(pw.missing),
	})
	if over := len(t.st.Watched) - t.a.cfg.MaxWatched; over > 0 {
		t.st.Watched = slices.Delete(t.st.Watched, 0, over)
		t.a.m.watchDropped.WithLabelValues("max_watched").Add(float64(over))
	}
	t.a.m.watched.Set(float64(len(t.st.Watched)))
}

func (t *term) isWatched(start int64) bool {
	return slices.ContainsFunc(t.st.Watched, func(w watched) bool { return w.Start == start })
}

// checkWatched lists each watched window again. When partitions it was merged without have
// delivered it since (or passed it without data: they delivered a later window), it is merged
// again and its reports rewritten: the metrics are not published again, and the analyzers do
// not see it again (their reports for it stay as first written). A window stops being watched
// when nothing is missing any more, or after aggregator.watch_for.
func (t *term) checkWatched(ctx context.Context) error {
	a := t.a
	if t.pending != nil || len(t.st.Watched) == 0 {
		return nil
	}
	now := a.now()
	changed := false
	defer func() { a.m.watched.Set(float64(len(t.st.Watched))) }()
	for i := 0; i < len(t.st.Watched); {
		ww := &t.st.Watched[i]
		if now.Sub(unixTime(ww.Since)) > a.cfg.WatchFor {
			t.log.Warn("aggregator: giving up on missing partitions of a window", "window", rfc3339(unixTime(ww.Start)),
				"missing", names(ww.Missing))
			t.st.Watched = slices.Delete(t.st.Watched, i, i+1)
			a.m.watchDropped.WithLabelValues("expired").Inc()
			changed = true
			continue
		}
		if err := a.store.ListPartials(ctx, unixTime(ww.Start), func(start time.Time, p pipeline.Partition) bool {
			t.g.record(start.UnixNano(), p, now)
			return start.UnixNano() == ww.Start
		}); err != nil {
			a.m.errors.WithLabelValues(opList).Inc()
			return err
		}
		var arrived, still []pipeline.Partition
		for _, p := range ww.Missing {
			switch {
			case t.g.delivered(ww.Start, p):
				arrived = append(arrived, p)
			case !t.g.passed(p, ww.Start):
				still = append(still, p)
			}
		}
		if len(still) == len(ww.Missing) {
			i++
			continue
		}
		late := append(slices.Clone(ww.Late), arrived...)
		slices.SortFunc(late, pipeline.ComparePartitions)
		if err := t.remerge(ctx, ww.window(), still, late); err != nil {
			return err
		}
		a.m.remerges.Inc()
		t.log.Info("aggregator: window merged again with late partials", "window", rfc3339(unixTime(ww.Start)),
			"late", names(arrived), "still_missing", names(still))
		changed = true
		if len(still) == 0 {
			t.st.Watched = slices.Delete(t.st.Watched, i, i+1)
			continue
		}
		ww.Missing, ww.Late = still, late
		i++
	}
	if !changed {
		return nil
	}
	if err := t.save(ctx); err != nil {
		a.m.errors.WithLabelValues(opState).Inc()
		return err
	}
	return nil
}

// remerge merges a watched window again from every partial it has now and rewrites its
// reports: the operators' and the fleet summary, under the same keys.
func (t *term) remerge(ctx context.Context, w pipeline.Window, missing, late []pipeline.Partition) error {
	f, err := t.a.fold(ctx, w, t.g.partitions(w.Start.UnixNano()))
	if err != nil {
		return err
	}
	f.summary.Missing = names(missing)
	if len(late) > 0 {
		f.summary.Late = names(late)
	}
	for _, p := range f.ended {
		t.g.ended[p] = w.Start.UnixNano()
	}
	return t.writeReports(ctx, t.a.output(w, f))
}
