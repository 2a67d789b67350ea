package aggregator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/weirstream/weir/pipeline"
)

// errFenced ends a term: the state holds a newer aggregator's token.
var errFenced = errors.New("aggregator: a newer aggregator holds the state")

// term is one tenure as the aggregator. Everything in it runs on the goroutine that called
// Run, so nothing here locks.
type term struct {
	a         *Aggregator
	token     int64
	log       *slog.Logger
	began     time.Time
	nonce     string // tells this term's publish claims from any other's
	version   string // the state object's version as this term last saw it
	st        *state
	snaps     *snapshots
	reg       *termRegisterer
	analyzers []pipeline.Analyzer
	g         *progress
	parts     []pipeline.Partition
	partsAt   time.Time
	pending   *pending
	watchedAt time.Time
}

// begin loads the state (retrying until it can, or ctx ends), builds the analyzers from it
// and saves it back with this term's token, which fences off an older aggregator still
// running.
func (a *Aggregator) begin(ctx context.Context, token int64, log *slog.Logger) (*term, error) {
	t := &term{a: a, token: token, log: log, began: a.now(), g: newProgress(), reg: &termRegisterer{reg: a.reg}}
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	t.nonce = hex.EncodeToString(nonce[:])
	for {
		err := t.load(ctx)
		if err == nil {
			break
		}
		if errors.Is(err, errFenced) || ctx.Err() != nil {
			return nil, err
		}
		a.m.errors.WithLabelValues(opState).Inc()
		log.Warn("aggregator: loading the state failed; retrying", "err", err)
		if !sleep(ctx, a.cfg.Poll) {
			return nil, ctx.Err()
		}
	}
	t.snaps = newSnapshots(t.st.Snapshots)
	for _, e := range t.st.Ended {
		t.g.ended[e.Partition] = e.Start
	}
	if a.analyze != nil {
		var err error
		if t.analyzers, err = a.analyze(t.snaps, t.reg); err != nil {
			a.m.errors.WithLabelValues(opAnalyzers).Inc()
			t.reg.unregisterAll()
			return nil, fmt.Errorf("aggregator: building the analyzers: %w", err)
		}
	}
	for {
		err := t.save(ctx)
		if err == nil {
			break
		}
		if errors.Is(err, errFenced) || ctx.Err() != nil {
			t.end()
			return nil, err
		}
		a.m.errors.WithLabelValues(opState).Inc()
		log.Warn("aggregator: saving the state failed; retrying", "err", err)
		if !sleep(ctx, a.cfg.Poll) {
			t.end()
			return nil, ctx.Err()
		}
	}
	if t.st.Next != 0 {
		a.m.next.Set(float64(t.st.Next) / 1e9)
	}
	a.m.watched.Set(float64(len(t.st.Watched)))
	log.Info("aggregator: resuming", "next_window", nextString(t.st.Next), "watched", len(t.st.Watched))
	return t, nil
}

func nextString(ns int64) string {
	if ns == 0 {
		return "the earliest partial"
	}
	return rfc3339(unixTime(ns))
}

// end releases what the term registered.
func (t *term) end() { t.reg.unregisterAll() }

// run polls until the term ends.
func (t *term) run(ctx context.Context) error {
	a := t.a
	for {
		progressed, err := t.poll(ctx)
		if errors.Is(err, errFenced) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			t.log.Warn("aggregator: poll failed; retrying", "err", err)
		}
		if a.now().Sub(t.watchedAt) >= a.cfg.Poll || !progressed {
			t.watchedAt = a.now()
			if err := t.checkWatched(ctx); errors.Is(err, errFenced) {
				return err
			} else if err != nil && ctx.Err() == nil {
				t.log.Warn("aggregator: checking watched windows failed; retrying", "err", err)
			}
		}
		if progressed && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-a.notify:
		case done := <-a.settle:
			if err := t.settle(ctx); errors.Is(err, errFenced) {
				close(done)
				return err
			}
			close(done)
		case <-time.After(a.cfg.Poll):
		}
	}
}

// settle polls until there is nothing more to merge now (Aggregator.Settle).
func (t *term) settle(ctx context.Context) error {
	for {
		progressed, err := t.poll(ctx)
		if err != nil || !progressed || ctx.Err() != nil {
			return err
		}
	}
}

// poll takes the next step: finish the pending window, or look for the next one and merge
// it if it is complete (or past its grace deadline). It reports whether it got further.
func (t *term) poll(ctx context.Context) (bool, error) {
	a := t.a
	now := a.now()
	if err := t.refreshPartitions(ctx, now); err != nil {
		if t.parts == nil {
			return false, err
		}
		t.log.Warn("aggregator: refreshing the partition set failed; keeping the last one", "err", err)
	}
	if t.pending != nil {
		if err := t.finish(ctx); err != nil {
			return false, err
		}
		return true, nil
	}
	if t.st.Next == 0 {
		first, ok, err := t.first(ctx, now)
		if err != nil || !ok {
			return false, err
		}
		t.st.Next = first
	}
	w := pipeline.Window{Start: unixTime(t.st.Next), End: unixTime(t.st.Next).Add(a.period)}
	if now.Before(w.End) {
		return false, nil // no partition can have closed it yet
	}
	if err := t.scan(ctx, t.st.Next, now); err != nil {
		a.m.errors.WithLabelValues(opList).Inc()
		return false, err
	}
	v, missing := t.g.judge(w, t.parts, now, t.began, a.cfg.Grace)
	if v != wait && t.partsAt.Before(now) {
		// The set may have grown since it was read: a Kinesis reshard gives the children
		// leases while the parent's last windows close, and the children write their first
		// partials only once the parent is finished. A window merged (or skipped) without a
		// partition the set did not hold is never watched for it: read the set again, once per
		// window, before deciding for good.
		if err := t.readPartitions(ctx, now); err != nil {
			t.log.Warn("aggregator: reading the partition set before a merge failed; the window waits", "err", err)
			return false, nil
		}
		v, missing = t.g.judge(w, t.parts, now, t.began, a.cfg.Grace)
	}
	switch v {
	case skip:
		next, ok := t.g.nextAfter(t.st.Next)
		if !ok {
			return false, nil
		}
		a.m.windows.WithLabelValues("skipped").Inc()
		t.st.Next = next
		a.m.next.Set(float64(next) / 1e9)
		return true, nil
	case merge:
		pw, err := t.mergeFirst(ctx, w, missing)
		if err != nil {
			return false, err
		}
		t.pending = pw
		return true, t.finish(ctx)
	}
	return false, nil
}

func (t *term) refreshPartitions(ctx context.Context, now time.Time) error {
	if t.parts != nil && now.Sub(t.partsAt) < t.a.cfg.PartitionsRefresh {
		return nil
	}
	return t.readPartitions(ctx, now)
}

// readPartitions asks for the partition set now.
func (t *term) readPartitions(ctx context.Context, now time.Time) error {
	ps, err := t.a.parts.Partitions(ctx)
	if err != nil {
		t.a.m.errors.WithLabelValues(opPartitions).Inc()
		if t.parts != nil {
			t.partsAt = now // keep the last set until the next refresh is due
		}
		return fmt.Errorf("aggregator: the partition set: %w", err)
	}
	ps = slices.Clone(ps)
	slices.SortFunc(ps, pipeline.ComparePartitions)
	t.parts, t.partsAt = slices.Compact(ps), now
	return nil
}

// first finds where an aggregator without a state begins: the window of the earliest
// partial in the store, once every partition of the set has delivered one, or once Grace has
// passed since the term began (a partition that has delivered nothing by then is quiet, and
// the windows merged without it name it missing). Each partition writes its windows in order,
// so its earliest partial listed is its first; but partitions do not start together, and the
// earliest partial listed before all have delivered can be later than a slow partition's
// first: starting there would skip that partition's earlier windows for good.
func (t *term) first(ctx context.Context, now time.Time) (int64, bool, error) {
	var first int64
	found := false
	waiting := make(map[pipeline.Partition]bool, len(t.parts))
	for _, p := range t.parts {
		waiting[p] = true
	}
	err := t.a.store.ListPartials(ctx, unixTime(0), func(start time.Time, p pipeline.Partition) bool {
		if !found {
			first, found = start.UnixNano(), true
		}
		delete(waiting, p)
		return len(waiting) > 0
	})
	if err != nil {
		t.a.m.errors.WithLabelValues(opList).Inc()
		return 0, false, err
	}
	if found && len(waiting) > 0 && now.Sub(t.began) < t.a.cfg.Grace {
		return 0, false, nil
	}
	return first, found, nil
}

// scan lists the partials from the window starting at next on, recording what it sees, and
// stops as soon as every partition of the set has passed that window and a later window's
// partial shows that its partials are all listed.
func (t *term) scan(ctx context.Context, next int64, now time.Time) error {
	unresolved := make(map[pipeline.Partition]bool)
	for _, p := range t.parts {
		if !t.g.passed(p, next) {
			unresolved[p] = true
		}
	}
	beyond := false
	return t.a.store.ListPartials(ctx, unixTime(next), func(start time.Time, p pipeline.Partition) bool {
		s := start.UnixNano()
		t.g.record(s, p, now)
		delete(unresolved, p) // it delivered next, or a later window: either way it passed next
		beyond = beyond || s > next
		return !beyond || len(unresolved) > 0
	})
}

// sleep waits d or until ctx ends, and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
