package aggregator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/throughput"
)

var ctx = context.Background()

// newAgg builds an aggregator over env for n partitions on clock clk.
func newAgg(t testing.TB, env *storeEnv, n int, pub MetricSink, clk *clock, mut func(*Options)) *Aggregator {
	t.Helper()
	opts := options(t, env, partitions(n), newTestLeadership(), pub, clk.Now)
	if mut != nil {
		mut(&opts)
	}
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// begin starts a term with token, driven by the test through poll and checkWatched.
func begin(t testing.TB, a *Aggregator, token int64) *term {
	t.Helper()
	tm, err := a.begin(ctx, token, a.log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tm.end)
	return tm
}

// drive polls until the term gets no further, then checks the watched windows.
func drive(t testing.TB, tm *term) {
	t.Helper()
	for range 10_000 {
		ok, err := tm.poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
	}
	if err := tm.checkWatched(ctx); err != nil {
		t.Fatal(err)
	}
}

func recordsIn(events []event, w int, keep func(event) bool) int64 {
	var n int64
	for _, e := range events {
		if e.window == w && (keep == nil || keep(e)) {
			n++
		}
	}
	return n
}

func throughputOf(t testing.TB, env *storeEnv, w pipeline.Window) throughput.Report {
	t.Helper()
	b := env.report(t, "summary", throughput.Name, w)
	if b == nil {
		t.Fatalf("no throughput report for %v", w.Start)
	}
	var r throughput.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// Every partition delivers: each window is merged once complete, in order, and not before.
func TestCompleteWindows(t *testing.T) {
	eachStore(t, func(t *testing.T, env *storeEnv) {
		pr := newProducer(t, nil)
		events := dataset(3, 300, 1)
		parts := pr.partials(t, events, 4, 3)
		late := func(k ref) bool { return k.window == 2 && k.p.ID == "3" }
		env.write(t, parts, func(k ref) bool { return !late(k) })
		clk := &clock{now: win(2).End.Add(10 * time.Second)}
		pub := newPublished(t)
		a := newAgg(t, env, 4, pub, clk, nil)
		tm := begin(t, a, 1)
		drive(t, tm)
		for w := range 2 {
			s := summaryOf(t, env, win(w))
			if s.Partitions != 4 || len(s.Missing) != 0 || s.Records != recordsIn(events, w, nil) {
				t.Errorf("window %d: summary %+v, want 4 partitions, %d records, none missing", w, s, recordsIn(events, w, nil))
			}
			if n := pub.count(win(w)); n != 1 {
				t.Errorf("window %d published %d times", w, n)
			}
		}
		if b := env.report(t, "summary", SummaryName, win(2)); b != nil || pub.count(win(2)) != 0 {
			t.Fatalf("window 2 merged before partition 3 delivered it: %s", b)
		}
		env.write(t, parts, late)
		drive(t, tm)
		for w := range 3 {
			if got, want := throughputOf(t, env, win(w)).Records, recordsIn(events, w, nil); got != want {
				t.Errorf("window %d: the global throughput report counts %d records, want %d", w, got, want)
			}
			if n := pub.count(win(w)); n != 1 {
				t.Errorf("window %d published %d times", w, n)
			}
		}
		if got := testutil.ToFloat64(a.m.windows.WithLabelValues("complete")); got != 3 {
			t.Errorf("complete windows: %v", got)
		}
		if got := testutil.ToFloat64(a.m.partialsRead); got != 12 {
			t.Errorf("partials read: %v, want 12 (each once)", got)
		}
	})
}

// analyzed records which windows the analyzers saw, around the real ones.
type analyzed struct {
	mu      sync.Mutex
	windows map[time.Time]int
}

func (r *analyzed) wrap(opts *Options) {
	inner := opts.NewAnalyzers
	opts.NewAnalyzers = func(store SnapshotStore, reg prometheus.Registerer) ([]pipeline.Analyzer, error) {
		ans, err := inner(store, reg)
		for i, an := range ans {
			ans[i] = &recordingAnalyzer{Analyzer: an, r: r}
		}
		return ans, err
	}
}

type recordingAnalyzer struct {
	pipeline.Analyzer
	r *analyzed
}

func (a *recordingAnalyzer) Analyze(out *pipeline.Output) {
	a.r.mu.Lock()
	a.r.windows[out.Window.Start]++
	a.r.mu.Unlock()
	a.Analyzer.Analyze(out)
}

func (a *recordingAnalyzer) Durable(out *pipeline.Output) {
	if d, ok := a.Analyzer.(pipeline.DurableObserver); ok {
		d.Durable(out)
	}
}

// A partition whose partial does not come: at the grace deadline the window is merged
// without it and the report names it; when it arrives, the reports are rewritten with it,
// the metrics are not published again and the analyzers do not see the window again.
func TestMissingPartitionAtGraceThenLate(t *testing.T) {
	eachStore(t, func(t *testing.T, env *storeEnv) {
		pr := newProducer(t, nil)
		events := dataset(3, 300, 2)
		parts := pr.partials(t, events, 4, 3)
		dead := func(k ref) bool { return k.p.ID == "3" && k.window > 0 }
		env.write(t, parts, func(k ref) bool { return !dead(k) })
		first := win(1).End.Add(10 * time.Second)
		clk := &clock{now: first}
		pub := newPublished(t)
		seen := &analyzed{windows: map[time.Time]int{}}
		a := newAgg(t, env, 4, pub, clk, seen.wrap)
		grace := a.cfg.Grace
		tm := begin(t, a, 1)
		drive(t, tm)
		if env.report(t, "summary", SummaryName, win(1)) != nil {
			t.Fatal("window 1 merged at once without partition 3")
		}
		clk.set(first.Add(grace - time.Second))
		drive(t, tm)
		if env.report(t, "summary", SummaryName, win(1)) != nil {
			t.Fatal("window 1 merged before the grace deadline")
		}
		clk.set(first.Add(grace + time.Second))
		drive(t, tm)
		s := summaryOf(t, env, win(1))
		notP3 := func(e event) bool { return partitionOf(e, 4).ID != "3" }
		if !slices.Equal(s.Missing, []string{"events/3"}) || s.Partitions != 3 || s.Records != recordsIn(events, 1, notP3) {
			t.Fatalf("at the deadline: %+v; want events/3 missing, 3 partitions, %d records", s, recordsIn(events, 1, notP3))
		}
		if pub.count(win(1)) != 1 {
			t.Fatalf("window 1 published %d times", pub.count(win(1)))
		}
		firstRules := env.report(t, "report", "requests-by-path", win(1))

		// Partition 3's partial of window 1 arrives late.
		env.write(t, parts, func(k ref) bool { return k.p.ID == "3" && k.window == 1 })
		drive(t, tm)
		s = summaryOf(t, env, win(1))
		if len(s.Missing) != 0 || !slices.Equal(s.Late, []string{"events/3"}) || s.Partitions != 4 || s.Records != recordsIn(events, 1, nil) {
			t.Fatalf("after the late partial: %+v; want none missing, events/3 late, 4 partitions, %d records", s, recordsIn(events, 1, nil))
		}
		if got := throughputOf(t, env, win(1)).Records; got != recordsIn(events, 1, nil) {
			t.Errorf("the rewritten throughput report counts %d records, want %d", got, recordsIn(events, 1, nil))
		}
		if bytes.Equal(firstRules, env.report(t, "report", "requests-by-path", win(1))) {
			t.Error("the rule report was not rewritten with the late partial")
		}
		if n := pub.count(win(1)); n != 1 {
			t.Errorf("window 1 published %d times after the late partial, want 1", n)
		}
		if n := seen.windows[win(1).Start]; n != 1 {
			t.Errorf("the analyzers saw window 1 %d times, want 1", n)
		}
		if got := testutil.ToFloat64(a.m.remerges); got != 1 {
			t.Errorf("remerges: %v", got)
		}
		if len(tm.st.Watched) != 0 {
			t.Errorf("window 1 still watched: %+v", tm.st.Watched)
		}
	})
}

// A partition draining a backlog delivers old windows one after another, each within the
// grace of the one before: the windows wait for it, and none is merged without it.
func TestBacklogDrainNeverTripsTheGrace(t *testing.T) {
	env := fileEnv(t)
	pr := newProducer(t, nil)
	events := dataset(8, 50, 3)
	parts := pr.partials(t, events, 4, 8)
	behind := func(k ref) bool { return k.p.ID == "3" && k.window > 0 }
	env.write(t, parts, func(k ref) bool { return !behind(k) })
	clk := &clock{now: win(7).End.Add(time.Hour)}
	a := newAgg(t, env, 4, newPublished(t), clk, nil)
	tm := begin(t, a, 1)
	drive(t, tm)
	for w := 1; w < 8; w++ {
		clk.set(clk.Now().Add(a.cfg.Grace - time.Second))
		drive(t, tm)
		if env.report(t, "summary", SummaryName, win(w)) != nil {
			t.Fatalf("window %d merged while partition 3, draining, had not delivered it", w)
		}
		env.write(t, parts, func(k ref) bool { return k.p.ID == "3" && k.window == w })
		drive(t, tm)
		if s := summaryOf(t, env, win(w)); len(s.Missing) != 0 || s.Partitions != 4 {
			t.Fatalf("window %d: %+v", w, s)
		}
	}
	if got := testutil.ToFloat64(a.m.windows.WithLabelValues("missing")); got != 0 {
		t.Errorf("%v windows merged with missing partitions", got)
	}
}

// reportsOf returns every global report object of window w.
func reportsOf(t testing.TB, env *storeEnv, w pipeline.Window) map[string][]byte {
	out := map[string][]byte{}
	for _, k := range [][2]string{{"summary", SummaryName}, {"summary", throughput.Name},
		{"report", "5xx-by-tenant"}, {"report", "bytes-by-user"}, {"report", "requests-by-path"}} {
		out[k[0]+"/"+k[1]] = env.report(t, k[0], k[1], w)
	}
	return out
}

// outputs records the Outputs an aggregator wrote reports for.
type outputs struct {
	ReportSink
	mu  sync.Mutex
	got map[time.Time][]*pipeline.Output
}

func (o *outputs) Write(ctx context.Context, out *pipeline.Output) error {
	if err := o.ReportSink.Write(ctx, out); err != nil {
		return err
	}
	o.mu.Lock()
	o.got[out.Window.Start] = append(o.got[out.Window.Start], out)
	o.mu.Unlock()
	return nil
}

// A second aggregator takes over after the first published a window but before it saved its
// state: it merges the window again, writes the same report bytes, does not publish it again,
// and its analyzers, restored from the state, produce exactly what the first one's did.
func TestTakeoverMidWindow(t *testing.T) {
	eachStore(t, func(t *testing.T, env *storeEnv) {
		pr := newProducer(t, nil)
		events := dataset(4, 200, 4)
		env.write(t, pr.partials(t, events, 4, 4), nil)
		clk := &clock{now: win(3).End.Add(10 * time.Second)}
		pub := newPublished(t)
		recA := &outputs{ReportSink: env.reports, got: map[time.Time][]*pipeline.Output{}}
		a := newAgg(t, env, 4, pub, clk, func(o *Options) { o.Reports = []ReportSink{recA} })
		actx, killA := context.WithCancel(ctx)
		pub.after = func(out *pipeline.Output) {
			if out.Window == win(2) {
				killA() // after the publish, before the state save
			}
		}
		tmA, err := a.begin(actx, 1, a.log)
		if err != nil {
			t.Fatal(err)
		}
		defer tmA.end()
		for {
			if _, err := tmA.poll(actx); err != nil {
				if !errors.Is(err, context.Canceled) {
					t.Fatal(err)
				}
				break
			}
		}
		pub.after = nil
		afterA := reportsOf(t, env, win(2))

		recB := &outputs{ReportSink: env.reports, got: map[time.Time][]*pipeline.Output{}}
		b := newAgg(t, env, 4, pub, clk, func(o *Options) { o.Reports = []ReportSink{recB} })
		tmB := begin(t, b, 2)
		if got := unixTime(tmB.st.Next); !got.Equal(win(2).Start) {
			t.Fatalf("the second aggregator resumes at %v, want window 2", got)
		}
		drive(t, tmB)
		for w := range 4 {
			if n := pub.count(win(w)); n != 1 {
				t.Errorf("window %d published %d times", w, n)
			}
			if s := summaryOf(t, env, win(w)); s.Records != recordsIn(events, w, nil) {
				t.Errorf("window %d: %d records, want %d", w, s.Records, recordsIn(events, w, nil))
			}
		}
		for k, v := range reportsOf(t, env, win(2)) {
			if v == nil || !bytes.Equal(v, afterA[k]) {
				t.Errorf("window 2's %s report changed when merged again:\n%s\n%s", k, afterA[k], v)
			}
		}
		pa, pb := recA.got[win(2).Start], recB.got[win(2).Start]
		if len(pa) != 1 || len(pb) != 1 {
			t.Fatalf("window 2 written %d times by A, %d by B", len(pa), len(pb))
		}
		if !pointsEqual(pa[0].Points, pb[0].Points) {
			t.Error("the second aggregator's analyzers did not produce the first one's points for the same window")
		}
		if !slices.ContainsFunc(pb[0].Points, func(p pipeline.Point) bool { return p.Name == "AnomalyScore" }) {
			t.Error("no anomaly points in window 2: the comparison says nothing about the detectors")
		}
		if got := testutil.ToFloat64(b.m.publishes.WithLabelValues("skipped")); got != 1 {
			t.Errorf("publishes skipped by the second aggregator: %v, want 1", got)
		}
	})
}

func pointsEqual(a, b []pipeline.Point) bool {
	return slices.EqualFunc(a, b, func(x, y pipeline.Point) bool {
		return x.Name == y.Name && x.Time.Equal(y.Time) && x.Unit == y.Unit && x.Value == y.Value &&
			slices.Equal(x.Dimensions, y.Dimensions) && (x.Stats == nil) == (y.Stats == nil)
	})
}

// An aggregator that lost its term without knowing it (a zombie) is fenced by the next one's
// token at its next state save, and stops; every window is still published once.
func TestZombieIsFenced(t *testing.T) {
	env := fileEnv(t)
	pr := newProducer(t, nil)
	events := dataset(3, 100, 5)
	parts := pr.partials(t, events, 4, 3)
	env.write(t, parts, func(k ref) bool { return k.window == 0 })
	clk := &clock{now: win(2).End.Add(10 * time.Second)}
	pub := newPublished(t)
	a := newAgg(t, env, 4, pub, clk, nil)
	tmA := begin(t, a, 1)
	drive(t, tmA)
	b := newAgg(t, env, 4, pub, clk, nil)
	tmB := begin(t, b, 2) // saves the state with token 2
	env.write(t, parts, func(k ref) bool { return k.window > 0 })
	var err error
	for range 10 {
		if _, err = tmA.poll(ctx); err != nil {
			break
		}
	}
	if !errors.Is(err, errFenced) {
		t.Fatalf("the old aggregator's poll: %v, want fenced", err)
	}
	drive(t, tmB)
	for w := range 3 {
		if n := pub.count(win(w)); n != 1 {
			t.Errorf("window %d published %d times", w, n)
		}
	}
	// A term whose token is below the saved one does not even begin.
	c := newAgg(t, env, 4, pub, clk, nil)
	if _, err := c.begin(ctx, 1, c.log); !errors.Is(err, errFenced) {
		t.Errorf("a term with an old token began: %v", err)
	}
	// Unless nobody saved that state for a long while: the token's source started again (a
	// Kafka group made anew restarts its generations at 1), and the lower token takes over
	// instead of every later term being fenced for good.
	clk.now = clk.now.Add(max(10*period, c.cfg.Grace) + time.Minute)
	d := newAgg(t, env, 4, pub, clk, nil)
	if _, err := d.begin(ctx, 1, d.log); err != nil {
		t.Errorf("a term after the state went stale: %v, want it to take over", err)
	}
}

// The metrics pass Prometheus' lint.
func TestMetricsLint(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := newMetrics(reg); err != nil {
		t.Fatal(err)
	}
	problems, err := testutil.CollectAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// failing fails its first left writes, then passes them on.
type failing struct {
	next interface {
		Write(context.Context, *pipeline.Output) error
	}
	left int
}

func (f *failing) Write(ctx context.Context, out *pipeline.Output) error {
	if f.left > 0 {
		f.left--
		return errors.New("injected")
	}
	return f.next.Write(ctx, out)
}

// A report write and a publish that fail are retried at the next poll, and counted in
// SinkErrors (which the worker adds to its SinkWriteErrors point, read by the fleet's sink
// alarm); the window is then written, and published once.
func TestFailedWritesRetriedAndCounted(t *testing.T) {
	env := fileEnv(t)
	pr := newProducer(t, nil)
	events := dataset(1, 100, 1)
	env.write(t, pr.partials(t, events, 2, 1), func(ref) bool { return true })
	clk := &clock{now: win(0).End.Add(10 * time.Second)}
	pub := newPublished(t)
	reports := &failing{next: env.reports, left: 1}
	a := newAgg(t, env, 2, &failing{next: pub, left: 1}, clk, func(o *Options) { o.Reports = []ReportSink{reports} })
	tm := begin(t, a, 1)
	var errs int
	for range 5 {
		if _, err := tm.poll(ctx); err != nil {
			errs++
		}
	}
	if errs != 2 || a.SinkErrors() != 2 {
		t.Errorf("%d polls failed, SinkErrors %d; want 2 and 2 (one report write, one publish)", errs, a.SinkErrors())
	}
	if s := summaryOf(t, env, win(0)); s.Records != recordsIn(events, 0, nil) {
		t.Errorf("summary %+v after the retries, want %d records", s, recordsIn(events, 0, nil))
	}
	if n := pub.count(win(0)); n != 1 {
		t.Errorf("window published %d times, want once", n)
	}
}
