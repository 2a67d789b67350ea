package aggregator

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/weirstream/weir/pipeline"
)

// load reads the state object. None, or one that cannot be read, means starting from the
// earliest partial: windows merged before are merged again, to the same report keys, and
// their publish claims fail, so nothing is published twice.
func (t *term) load(ctx context.Context) error {
	a := t.a
	data, version, err := a.store.LoadState(ctx, a.cfg.StateName)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		t.st, t.version = &state{}, ""
		return nil
	case err != nil:
		return err
	}
	t.version = version
	st, err := decodeState(data)
	if err != nil {
		a.log.Error("aggregator: the state object is unreadable; starting again from the earliest partial", "err", err)
		t.st = &state{}
		return nil
	}
	if st.Token > t.token {
		if !t.stale(st) {
			return fmt.Errorf("%w (token %d, this term's %d)", errFenced, st.Token, t.token)
		}
		t.log.Warn("aggregator: the state holds a higher token than this term's but nobody saved it for a long while "+
			"(a Kafka group or lease table made anew?); taking over", "state_token", st.Token, "saved_at",
			rfc3339(unixTime(st.SavedAt)))
	}
	if st.Period != int64(a.period) {
		// The window period changed: the watched windows are of the old one, and the next
		// window moves to the new grid.
		t.log.Warn("aggregator: the window period changed; watched windows are dropped",
			"was", time.Duration(st.Period), "now", a.period)
		if st.Next != 0 {
			st.Next = unixTime(st.Next).Add(a.period - 1).Truncate(a.period).UnixNano()
		}
		st.Watched = nil
	}
	t.st = st
	return nil
}

// stale reports whether a state was last saved so long ago that its token fences nobody: a
// live aggregator saves after every window it merges, and its term's token only grows unless
// the token's source started again (a Kafka group deleted and created anew restarts its
// generations at 1; a lease table made anew restarts its counters), which would otherwise
// fence every later term for good. An aggregator idle that long (no partial to merge) whose
// higher-token term still runs would find this term's save at its next one and carry on, and
// both write the same reports and claim each publication once.
func (t *term) stale(st *state) bool {
	after := max(10*t.a.period, t.a.cfg.Grace)
	return t.a.now().Sub(unixTime(st.SavedAt)) > after
}

// save writes the state with compare-and-swap on the version this term last saw. A conflict
// means someone else wrote: an aggregator with a higher token (this term is over), or an
// older one still running, or this term's own write whose answer was lost (it goes on, from
// the version it now sees).
func (t *term) save(ctx context.Context) error {
	a := t.a
	t.st.V, t.st.Token, t.st.Period, t.st.SavedAt = stateVersion, t.token, int64(a.period), a.now().UnixNano()
	t.st.Snapshots = t.snaps.list()
	t.st.Ended = t.st.Ended[:0]
	for p, s := range t.g.ended {
		if t.parts == nil || slices.Contains(t.parts, p) {
			t.st.Ended = append(t.st.Ended, endedAt{Partition: p, Start: s})
		}
	}
	slices.SortFunc(t.st.Ended, func(x, y endedAt) int { return pipeline.ComparePartitions(x.Partition, y.Partition) })
	data, err := encodeState(t.st)
	if err != nil {
		return err
	}
	for range 4 {
		v, ok, err := a.store.SaveState(ctx, a.cfg.StateName, data, t.version)
		if err != nil {
			return err
		}
		if ok {
			t.version = v
			return nil
		}
		cur, cv, err := a.store.LoadState(ctx, a.cfg.StateName)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			t.version = ""
			continue
		case err != nil:
			return err
		}
		if st, err := decodeState(cur); err == nil && st.Token > t.token {
			return fmt.Errorf("%w (token %d, this term's %d)", errFenced, st.Token, t.token)
		}
		t.log.Warn("aggregator: the state was written by an older aggregator (or this one, unanswered); overwriting")
		t.version = cv
	}
	return errors.New("aggregator: the state keeps changing under this term")
}
