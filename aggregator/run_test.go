package aggregator

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vmihailenco/msgpack/v5"
)

// waitFor polls cond for up to 20s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Run serves terms as the leadership grants them, stops when a term ends, resumes in the next
// from the state, and wakes on Notify without waiting for its poll.
func TestRunServesTerms(t *testing.T) {
	env := fileEnv(t)
	pr := newProducer(t, nil)
	parts := pr.partials(t, dataset(5, 50, 9), 2, 5)
	env.write(t, parts, func(k ref) bool { return k.window < 3 })
	lead := newTestLeadership()
	pub := newPublished(t)
	opts := options(t, env, partitions(2), lead, pub, nil)
	opts.Config.Poll = time.Hour // only Notify and term starts make it look
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()

	merged := func(w int) func() bool { // reported and published
		return func() bool { return env.report(t, "summary", SummaryName, win(w)) != nil && pub.count(win(w)) > 0 }
	}
	end1 := lead.grant(t, 1)
	waitFor(t, "windows 0-2 in the first term", merged(2))
	if testutil.ToFloat64(a.m.leader) != 1 {
		t.Error("not leader during its term")
	}
	end1()
	waitFor(t, "the first term to end", func() bool { return testutil.ToFloat64(a.m.leader) == 0 })

	env.write(t, parts, func(k ref) bool { return k.window == 3 })
	end2 := lead.grant(t, 2)
	defer end2()
	waitFor(t, "window 3 in the second term", merged(3))
	env.write(t, parts, func(k ref) bool { return k.window == 4 })
	a.Notify()
	waitFor(t, "window 4 after Notify", merged(4))
	for w := range 5 {
		if n := pub.count(win(w)); n != 1 {
			t.Errorf("window %d published %d times", w, n)
		}
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return when its context ended")
	}
	if got := testutil.ToFloat64(a.m.terms); got != 2 {
		t.Errorf("terms: %v", got)
	}
}

// The state object round-trips, and an unreadable or foreign one is refused.
func TestStateCodec(t *testing.T) {
	st := &state{V: stateVersion, Token: 7, Period: int64(period), Next: win(3).Start.UnixNano(),
		Watched:   []watched{{Start: 1, End: 2, Since: 3, Missing: partitions(2), Late: partitions(1)}},
		Snapshots: []snapshot{{Name: "anomaly", Data: []byte{1, 2}}}}
	b, err := encodeState(st)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeState(b)
	if err != nil || got.Token != 7 || got.Next != st.Next || len(got.Watched) != 1 || len(got.Watched[0].Missing) != 2 ||
		got.Snapshots[0].Name != "anomaly" {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for name, bad := range map[string]*state{
		"another version": {V: 2, Period: 1},
		"no period":       {V: stateVersion},
		"negative next":   {V: stateVersion, Period: 1, Next: -1},
	} {
		b, _ := msgpack.Marshal(bad)
		if _, err := decodeState(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := decodeState([]byte("junk")); err == nil {
		t.Error("junk accepted")
	}
}

// An unreadable state object does not stop the aggregator: it starts again from the earliest
// partial, rewrites the same reports, publishes nothing twice, and replaces the object.
func TestUnreadableStateStartsOver(t *testing.T) {
	env := fileEnv(t)
	pr := newProducer(t, nil)
	env.write(t, pr.partials(t, dataset(2, 50, 10), 2, 2), nil)
	clk := &clock{now: win(1).End.Add(time.Minute)}
	pub := newPublished(t)
	drive(t, begin(t, newAgg(t, env, 2, pub, clk, nil), 1))
	before := reportsOf(t, env, win(1))
	_, v, err := env.store.LoadState(ctx, "aggregator")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := env.store.SaveState(ctx, "aggregator", []byte("garbage"), v); !ok || err != nil {
		t.Fatal(ok, err)
	}
	drive(t, begin(t, newAgg(t, env, 2, pub, clk, nil), 2))
	for k, v := range reportsOf(t, env, win(1)) {
		if string(v) != string(before[k]) {
			t.Errorf("%s rewritten differently", k)
		}
	}
	for w := range 2 {
		if n := pub.count(win(w)); n != 1 {
			t.Errorf("window %d published %d times", w, n)
		}
	}
	data, _, err := env.store.LoadState(ctx, "aggregator")
	if err != nil {
		t.Fatal(err)
	}
	if st, err := decodeState(data); err != nil || st.Token != 2 || st.Next != win(2).Start.UnixNano() {
		t.Errorf("state after starting over: %+v, %v", st, err)
	}
}
