package aggregator

import (
	"slices"
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline"
)

// The completeness rule and the grace rule, case by case.
func TestJudge(t *testing.T) {
	p := func(id string) pipeline.Partition { return pipeline.Partition{Stream: "s", ID: id} }
	w := win(5)
	at := func(i int) int64 { return win(i).Start.UnixNano() }
	grace := 2 * time.Minute
	termStart := w.End.Add(-time.Hour)
	type delivery struct {
		window int
		id     string
		when   time.Time
	}
	for _, c := range []struct {
		name        string
		parts       []string
		delivered   []delivery
		ended       map[string]int
		now         time.Time
		want        verdict
		wantMissing []string
	}{
		{name: "no partition set", now: w.End.Add(time.Hour), want: wait},
		{name: "all delivered", parts: []string{"0", "1"},
			delivered: []delivery{{5, "0", termStart}, {5, "1", termStart}}, now: w.End, want: merge},
		{name: "one later window is as good as the window (started after it)", parts: []string{"0", "1"},
			delivered: []delivery{{5, "0", termStart}, {7, "1", termStart}}, now: w.End, want: merge},
		{name: "ended before the window", parts: []string{"0", "1"},
			delivered: []delivery{{5, "0", termStart}, {2, "1", termStart}}, ended: map[string]int{"1": 2},
			now: w.End, want: merge},
		{name: "ended in the window: it delivered it", parts: []string{"0", "1"},
			delivered: []delivery{{5, "0", termStart}, {5, "1", termStart}}, ended: map[string]int{"1": 5},
			now: w.End, want: merge},
		{name: "only an earlier window: wait", parts: []string{"0", "1"},
			delivered: []delivery{{5, "0", termStart}, {4, "1", termStart}}, now: w.End.Add(time.Minute), want: wait},
		{name: "stale, but the window is not grace past its end", parts: []string{"0", "1"},
			delivered: []delivery{{5, "0", termStart}, {4, "1", termStart}}, now: w.End.Add(grace - time.Second), want: wait},
		{name: "stale and past the deadline: missing", parts: []string{"0", "1", "2"},
			delivered: []delivery{{5, "0", termStart}, {4, "1", termStart}}, now: w.End.Add(grace),
			want: merge, wantMissing: []string{"1", "2"}},
		{name: "delivered something recently: not stale", parts: []string{"0", "1"},
			delivered: []delivery{{5, "0", termStart}, {4, "1", w.End.Add(time.Hour)}}, now: w.End.Add(time.Hour + grace - time.Second), want: wait},
		{name: "one stale, one draining: wait for both", parts: []string{"0", "1", "2"},
			delivered: []delivery{{5, "0", termStart}, {3, "1", termStart}, {4, "2", w.End.Add(time.Hour)}},
			now:       w.End.Add(time.Hour + time.Second), want: wait},
		{name: "never seen: stale only a grace after the term began", parts: []string{"0", "1"},
			delivered: []delivery{{5, "0", termStart}}, now: termStart.Add(grace - time.Second), want: wait},
		{name: "nobody delivered it, everybody passed it", parts: []string{"0", "1"},
			delivered: []delivery{{6, "0", termStart}, {8, "1", termStart}}, now: w.End, want: skip},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := newProgress()
			for _, d := range c.delivered {
				g.record(at(d.window), p(d.id), d.when)
			}
			for id, i := range c.ended {
				g.ended[p(id)] = at(i)
			}
			var parts []pipeline.Partition
			for _, id := range c.parts {
				parts = append(parts, p(id))
			}
			got, missing := g.judge(w, parts, c.now, termStart, grace)
			var ids []string
			for _, m := range missing {
				ids = append(ids, m.ID)
			}
			if got != c.want || !slices.Equal(ids, c.wantMissing) {
				t.Errorf("judge = %v %v, want %v %v", got, ids, c.want, c.wantMissing)
			}
		})
	}
}

func TestProgressRecordsOnlyNewDeliveries(t *testing.T) {
	g := newProgress()
	p := pipeline.Partition{Stream: "s", ID: "0"}
	t1, t2 := t0, t0.Add(time.Hour)
	g.record(win(3).Start.UnixNano(), p, t1)
	g.record(win(3).Start.UnixNano(), p, t2) // listed again: not new
	if !g.lastNew[p].Equal(t1) {
		t.Errorf("a partial listed again counted as new at %v", g.lastNew[p])
	}
	g.record(win(1).Start.UnixNano(), p, t2) // an older window: new, but not the latest
	if !g.lastNew[p].Equal(t2) || g.latest[p] != win(3).Start.UnixNano() {
		t.Errorf("lastNew %v latest %v", g.lastNew[p], g.latest[p])
	}
	if n, ok := g.nextAfter(win(1).Start.UnixNano()); !ok || n != win(3).Start.UnixNano() {
		t.Errorf("nextAfter = %v %v", n, ok)
	}
	g.forget(win(3).Start.UnixNano(), func(s int64) bool { return false })
	if _, ok := g.byWindow[win(1).Start.UnixNano()]; ok {
		t.Error("forget kept an old window")
	}
}
