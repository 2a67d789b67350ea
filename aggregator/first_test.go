package aggregator

import (
	"testing"
	"time"
)

// The first term of a fleet (no state yet) must not start merging at the earliest partial it
// happens to list: a partition whose backlog starts earlier may not have written its first
// partial yet (a slow store, a later start). Here partitions 1–3 have delivered windows 1 and
// 2 when the term begins and partition 0, whose records start in window 0, has delivered
// nothing: window 0 must still be merged once partition 0's partials arrive.
func TestFirstWindowWaitsForEveryPartition(t *testing.T) {
	eachStore(t, func(t *testing.T, env *storeEnv) {
		pr := newProducer(t, nil)
		events := dataset(3, 300, 1)
		parts := pr.partials(t, events, 4, 3)
		slow := func(k ref) bool { return k.p.ID == "0" }
		env.write(t, parts, func(k ref) bool { return !slow(k) && k.window > 0 })
		clk := &clock{now: win(2).End.Add(10 * time.Second)}
		pub := newPublished(t)
		a := newAgg(t, env, 4, pub, clk, nil)
		tm := begin(t, a, 1)
		drive(t, tm)
		env.write(t, parts, func(k ref) bool { return slow(k) || k.window == 0 })
		drive(t, tm)
		for w := range 3 {
			if got, want := throughputOf(t, env, win(w)).Records, recordsIn(events, w, nil); got != want {
				t.Errorf("window %d: the global throughput report counts %d records, want %d", w, got, want)
			}
			if n := pub.count(win(w)); n != 1 {
				t.Errorf("window %d published %d times", w, n)
			}
		}
	})
}

// A partition that never delivers does not hold the first merge for ever: after Grace from
// the term's start, merging begins at the earliest partial listed.
func TestFirstWindowAfterGraceWithoutAQuietPartition(t *testing.T) {
	eachStore(t, func(t *testing.T, env *storeEnv) {
		pr := newProducer(t, nil)
		events := dataset(2, 300, 1)
		parts := pr.partials(t, events, 4, 2)
		env.write(t, parts, func(k ref) bool { return k.p.ID != "3" })
		clk := &clock{now: win(1).End.Add(10 * time.Second)}
		a := newAgg(t, env, 4, newPublished(t), clk, nil)
		tm := begin(t, a, 1)
		drive(t, tm)
		if b := env.report(t, "summary", SummaryName, win(0)); b != nil {
			t.Fatalf("window 0 merged before partition 3 delivered anything or the grace passed: %s", b)
		}
		clk.set(clk.Now().Add(a.cfg.Grace))
		drive(t, tm)
		if s := summaryOf(t, env, win(0)); s.Partitions != 3 || len(s.Missing) != 1 {
			t.Errorf("window 0 after the grace: %+v, want 3 partitions and partition 3 missing", s)
		}
	})
}
