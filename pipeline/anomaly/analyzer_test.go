package anomaly

import (
	"bytes"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/contrib"
	"github.com/weirstream/weir/pipeline/throughput"
)

// Synthetic windows: one minute each from a Monday midnight, as the merger hands them over
// (in order, one at a time). Throughput points are produced by the real throughput operator's
// Emit, so the analyzer sees exactly the per-partition and per-stream shapes it will in weir.

var win0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func windowN(i int) pipeline.Window {
	s := win0.Add(time.Duration(i) * time.Minute)
	return pipeline.Window{Start: s, End: s.Add(time.Minute)}
}

// throughputOutput returns window i's Output with stream's records split over two partitions.
func throughputOutput(i int, stream string, records, bytes int64) *pipeline.Output {
	out := &pipeline.Output{Window: windowN(i), Owner: "test"}
	addThroughput(out, stream, records, bytes)
	return out
}

func addThroughput(out *pipeline.Output, stream string, records, bytes int64) {
	st := &throughput.State{Parts: []throughput.Counts{
		{Stream: stream, Partition: "0", Records: records / 2, Bytes: bytes / 2},
		{Stream: stream, Partition: "1", Records: records - records/2, Bytes: bytes - bytes/2},
	}}
	st.Emit(out.Window, out)
}

// addRule appends what contrib emits for a rule: its metrics (RuleName dimension) and its
// report, whose Contributors must be given largest first.
func addRule(out *pipeline.Output, rule string, cs []contrib.Contributor) {
	var sum, top float64
	for _, c := range cs {
		sum += c.ApproximateAggregateValue
	}
	if len(cs) > 0 {
		top = cs[0].ApproximateAggregateValue
	}
	dims := []pipeline.Dimension{{Name: "RuleName", Value: rule}}
	for _, p := range []struct {
		name string
		v    float64
	}{{"UniqueContributors", float64(len(cs))}, {"MaxContributorValue", top}, {"SampleCount", sum}, {"Sum", sum}} {
		out.Points = append(out.Points, pipeline.Point{Name: p.name, Dimensions: dims, Time: out.Window.Start, Unit: pipeline.UnitNone, Value: p.v})
	}
	out.Reports = append(out.Reports, pipeline.Report{Kind: "report", Name: rule, Body: contrib.Report{
		RuleName: rule, KeyLabels: []string{"tenant", "region"}, AggregationStatistic: "Sum",
		AggregateValue: sum, Contributors: cs,
	}})
}

func prometheusRegistry() *prometheus.Registry { return prometheus.NewPedanticRegistry() }

// harness is an analyzer with its registry and a captured log.
type harness struct {
	a   *Analyzer
	reg *prometheus.Registry
	log *bytes.Buffer
}

func newHarness(t testing.TB, cfg Config, store StateStore) *harness {
	t.Helper()
	h := &harness{reg: prometheus.NewPedanticRegistry(), log: &bytes.Buffer{}}
	a, err := NewAnalyzer(cfg, store, h.reg, slog.New(slog.NewTextHandler(h.log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	h.a = a
	return h
}

// analyze runs the analyzer on out, then tells it out is durable (as the runtime does once
// every sink wrote it), and returns what it appended.
func (h *harness) analyze(out *pipeline.Output) ([]pipeline.Point, []pipeline.Report) {
	np, nr := len(out.Points), len(out.Reports)
	h.a.Analyze(out)
	h.a.Durable(out)
	return out.Points[np:], out.Reports[nr:]
}

func (h *harness) warnLines() []string {
	var out []string
	for _, l := range strings.Split(h.log.String(), "\n") {
		if strings.Contains(l, "level=WARN") {
			out = append(out, l)
		}
	}
	return out
}

func events(rs []pipeline.Report) []Event {
	var out []Event
	for _, r := range rs {
		if r.Kind == "anomaly" {
			out = append(out, r.Body.(Event))
		}
	}
	return out
}

func dim(dims []pipeline.Dimension, name string) (string, bool) {
	for _, d := range dims {
		if d.Name == name {
			return d.Value, true
		}
	}
	return "", false
}

// TestSpikeRaisesOneEvent: a steady per-stream series over 600 windows with one spike raises
// one event on the spike's window, with its log line (and other events only at the young-series
// false-alarm rate), and four points per warm window, none for the partitions and none for
// Bytes (not in this test's metrics). Every result equals that of a bare Detector fed the same
// values as counts (Records, Unit Count, is in the default count_metrics): the analyzer adds
// nothing of its own.
func TestSpikeRaisesOneEvent(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Metrics = []string{"Rec*"}
	h := newHarness(t, cfg, nil)
	bare := New(cfg)
	rng := rand.New(rand.NewPCG(1, 2))
	const n, spike = 600, 450
	var evs []Event
	for i := range n {
		recs := int64(1000 + 10*rng.NormFloat64())
		if i == spike {
			recs = 1600
		}
		out := throughputOutput(i, "orders", recs, 100*recs)
		pts, reps := h.analyze(out)
		evs = append(evs, events(reps)...)
		if i == 0 {
			continue // a fresh analyzer does not feed its first window (it may be partial)
		}
		want := bare.ObserveCount(out.Window.Start, float64(recs))

		if !want.Warm {
			if len(pts) != 0 {
				t.Fatalf("window %d: %d points during warm-up", i, len(pts))
			}
			continue
		}
		if len(pts) != 4 {
			t.Fatalf("window %d: %d points appended, want 4", i, len(pts))
		}
		for _, p := range pts {
			if _, ok := dim(p.Dimensions, "Partition"); ok {
				t.Fatalf("window %d: point %s for a partition series", i, p.Name)
			}
			m, _ := dim(p.Dimensions, metricDimension)
			s, _ := dim(p.Dimensions, "Stream")
			if m != "Records" || s != "orders" || len(p.Dimensions) != 2 || p.Unit != pipeline.UnitNone || !p.Time.Equal(out.Window.Start) {
				t.Fatalf("window %d: unexpected point %+v", i, p)
			}
		}
		got := Result{Warm: true, Alarm: len(reps) > 0, Peak: want.Peak, Reason: want.Reason} // not published as points
		got.Score, _ = valueOf(pts, MetricScore, "Records")
		got.Expected, _ = valueOf(pts, MetricExpected, "Records")
		got.Lower, _ = valueOf(pts, MetricLower, "Records")
		got.Upper, _ = valueOf(pts, MetricUpper, "Records")
		if got != want {
			t.Fatalf("window %d: analyzer %+v, bare detector %+v", i, got, want)
		}
	}
	var at []Event // the events of the spike's window
	for _, ev := range evs {
		if ev.WindowStart == windowN(spike).Start.Format(time.RFC3339) {
			at = append(at, ev)
		}
	}
	if len(at) != 1 {
		t.Fatalf("%d events in the spike's window, want 1: %+v", len(at), evs)
	}
	if limit := 1 + int(math.Ceil(maxYoungFalseAlarms*n)); len(evs) > limit {
		t.Errorf("%d events, want the spike's and at most %d false alarms: %+v", len(evs), limit-1, evs)
	}
	ev := at[0]
	if ev.Series != `Records{Stream="orders"}` || ev.Metric != "Records" || ev.Dimensions["Stream"] != "orders" ||
		ev.Value != 1600 || ev.WindowStart != windowN(spike).Start.Format(time.RFC3339) ||
		ev.WindowEnd != windowN(spike).End.Format(time.RFC3339) || ev.Rule != "" || ev.ContributorKeys != nil ||
		ev.Reason != "deviation" {
		t.Errorf("event %+v", ev)
	}
	if !(ev.Value > ev.Upper && ev.Lower < ev.Expected && ev.Expected < ev.Upper) || ev.Score < cfg.AlarmScore {
		t.Errorf("event band/score inconsistent: %+v", ev)
	}
	if ws := h.warnLines(); len(ws) != len(evs) || !strings.Contains(strings.Join(ws, "\n"), `series="Records{Stream=\"orders\"}" window_start=`+ev.WindowStart) ||
		!strings.Contains(strings.Join(ws, "\n"), "reason=deviation") {
		t.Errorf("warn log lines: %q", ws)
	}
	if got := testutil.ToFloat64(h.a.m.alarms); got != float64(len(evs)) {
		t.Errorf("alarms_total = %v, want %d", got, len(evs))
	}
	if got := testutil.ToFloat64(h.a.m.series); got != 1 {
		t.Errorf("series = %v, want 1 (Records of the stream)", got)
	}
}

// valueOf returns the value of the appended point name whose Metric dimension is metric.
func valueOf(pts []pipeline.Point, name, metric string) (float64, bool) {
	for _, p := range pts {
		if m, _ := dim(p.Dimensions, metricDimension); p.Name == name && m == metric {
			return p.Value, true
		}
	}
	return 0, false
}

// tenants are a rule's steady contributors, largest first (so that noise does not reorder them).
var tenants = []struct {
	keys []string
	base float64
}{
	{[]string{"globex", "us"}, 5000}, {[]string{"initech", "us"}, 4000}, {[]string{"acme", "eu"}, 3000},
	{[]string{"umbrella", "ap"}, 2000}, {[]string{"hooli", "us"}, 1500}, {[]string{"stark", "eu"}, 1000},
	{[]string{"wayne", "us"}, 800}, {[]string{"tyrell", "ap"}, 600},
}

// contributorsAt returns the tenants' window values (noise 1%), with tenant jump (if >= 0)
// multiplied by factor, sorted largest first.
func contributorsAt(rng *rand.Rand, jump int, factor float64) []contrib.Contributor {
	cs := make([]contrib.Contributor, len(tenants))
	for i, tn := range tenants {
		v := tn.base * (1 + 0.01*rng.NormFloat64())
		if i == jump {
			v *= factor
		}
		cs[i] = contrib.Contributor{Keys: tn.keys, ApproximateAggregateValue: v}
	}
	sortContributors(cs)
	return cs
}

func sortContributors(cs []contrib.Contributor) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].ApproximateAggregateValue > cs[j-1].ApproximateAggregateValue; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// TestContributorJumpNamesTheTenant: one tenant's value triples. It raises a per-contributor
// event in that window that names the tenant's keys and the rule, the other contributor
// events stay within the stated false-alarm rate, and only the top 5 get series.
func TestContributorJumpNamesTheTenant(t *testing.T) {
	cfg := DefaultConfig()
	h := newHarness(t, cfg, nil)
	rng := rand.New(rand.NewPCG(3, 4))
	const n, jump = 500, 400
	var evs []Event
	for i := range n {
		out := &pipeline.Output{Window: windowN(i)}
		j := -1
		if i == jump {
			j = 2 // acme
		}
		addRule(out, "bytes-by-tenant", contributorsAt(rng, j, 3))
		_, reps := h.analyze(out)
		evs = append(evs, events(reps)...)
	}
	var jumps, others []Event
	for _, ev := range evs {
		switch {
		case ev.Metric != contributorMetric:
		case ev.WindowStart == windowN(jump).Start.Format(time.RFC3339):
			jumps = append(jumps, ev)
		default:
			others = append(others, ev)
		}
	}
	if len(jumps) != 1 {
		t.Fatalf("%d contributor events in the jump's window, want 1: %+v", len(jumps), jumps)
	}
	// 5 young contributor series over 500 windows, at maxYoungFalseAlarms per point.
	if limit := int(math.Ceil(maxYoungFalseAlarms * 5 * n)); len(others) > limit {
		t.Errorf("%d contributor events outside the jump, want at most %d: %+v", len(others), limit, others)
	}
	ev := jumps[0]
	if ev.Rule != "bytes-by-tenant" || strings.Join(ev.ContributorKeys, "|") != "acme|eu" ||
		ev.Series != `ContributorValue{Contributor="acme,eu",RuleName="bytes-by-tenant"}` ||
		ev.Dimensions["Contributor"] != "acme,eu" || ev.WindowStart != windowN(jump).Start.Format(time.RFC3339) || ev.Censored {
		t.Errorf("event %+v", ev)
	}
	ws := h.warnLines()
	found := false
	for _, l := range ws {
		found = found || strings.Contains(l, "contributor=\"[acme eu]\"")
	}
	if !found {
		t.Errorf("no warn line names the contributor: %q", ws)
	}
	// 4 rule metrics + the top 5 tenants.
	if got := h.a.t.len(); got != 4+cfg.TopContributors {
		t.Errorf("%d series, want %d", got, 4+cfg.TopContributors)
	}
	if got := len(h.a.t.byRule["bytes-by-tenant"]); got != cfg.TopContributors {
		t.Errorf("%d contributor series for the rule, want %d", got, cfg.TopContributors)
	}
}

// TestUnlistedContributor: a contributor missing from its rule's report is fed the report's
// smallest listed value (an upper bound of its own) only when that is below its expectation;
// otherwise the window is skipped; a report listing nobody means exactly 0.
func TestUnlistedContributor(t *testing.T) {
	cfg := DefaultConfig()
	cfg.TopContributors = 3
	h := newHarness(t, cfg, nil)
	rng := rand.New(rand.NewPCG(5, 6))
	list := func(cs []contrib.Contributor, drop string) []contrib.Contributor {
		var out []contrib.Contributor
		for _, c := range cs {
			if c.Keys[0] != drop {
				out = append(out, c)
			}
		}
		return out[:5] // the report lists 5; series for the top 3
	}
	const warm = 300
	for i := range warm {
		out := &pipeline.Output{Window: windowN(i)}
		addRule(out, "r", list(contributorsAt(rng, -1, 1), ""))
		h.analyze(out)
	}
	acme := h.a.t.lookup([]byte(`ContributorValue{Contributor="acme,eu",RuleName="r"}`))
	if acme == nil || !acme.det.warm() {
		t.Fatal("acme (rank 3) has no warm series")
	}

	// acme vanishes: the smallest listed value (stark, ~1000) is far below acme's ~3000.
	out := &pipeline.Output{Window: windowN(warm)}
	addRule(out, "r", list(contributorsAt(rng, -1, 1), "acme"))
	bound := out.Reports[0].Body.(contrib.Report).Contributors[4].ApproximateAggregateValue
	_, reps := h.analyze(out)
	if acme.lastSeen != windowN(warm).Start.UnixNano() {
		t.Fatal("the vanished contributor was not observed")
	}
	evs := events(reps)
	var ev *Event
	for i := range evs {
		if evs[i].Metric == contributorMetric {
			ev = &evs[i]
		}
	}
	if ev == nil || !ev.Censored || ev.Value != bound || ev.ContributorKeys[0] != "acme" {
		t.Fatalf("want a censored event for acme at the bound %v, got %+v", bound, evs)
	}

	// The report now lists only values far above acme's expectation (~3000 learned, now
	// lower after the drop): the bound says nothing, and the window is skipped.
	skipped := testutil.ToFloat64(h.a.m.skipUnlisted)
	out = &pipeline.Output{Window: windowN(warm + 1)}
	addRule(out, "r", []contrib.Contributor{{Keys: []string{"globex", "us"}, ApproximateAggregateValue: 9e6}})
	h.analyze(out)
	// Tracked: globex, initech, acme, and umbrella (rank 3 while acme was missing).
	if got := testutil.ToFloat64(h.a.m.skipUnlisted) - skipped; got != 3 {
		t.Errorf("skipped unlisted %v, want 3 (initech, acme, umbrella)", got)
	}
	if acme.lastSeen != windowN(warm).Start.UnixNano() {
		t.Error("an uninformative bound was fed")
	}

	// No contributors at all: every tracked contributor is exactly 0.
	out = &pipeline.Output{Window: windowN(warm + 2)}
	addRule(out, "r", nil)
	h.analyze(out)
	for _, w := range h.a.t.byRule["r"] {
		if w.lastSeen != windowN(warm+2).Start.UnixNano() {
			t.Errorf("%s not observed in a window with no contributors", w.id)
		}
	}
	for _, o := range h.a.obs {
		if o.w.rule == "r" && (o.value != 0 || o.censored) {
			t.Errorf("%s fed %v (censored %v), want exactly 0", o.w.id, o.value, o.censored)
		}
	}
}

// TestSeriesCap: beyond max_series new series are refused and counted every window; series
// with unpublishable dimensions are refused too; idle series expire and free their slots.
func TestSeriesCap(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxSeries = 3
	cfg.IdleTimeout = 10 * time.Minute // 10 one-minute windows
	h := newHarness(t, cfg, nil)
	streams := []string{"a", "b", "c", "d", "e"}
	for i := range 5 {
		out := &pipeline.Output{Window: windowN(i)}
		for _, s := range streams {
			out.Points = append(out.Points, pipeline.Point{Name: "Records", Dimensions: []pipeline.Dimension{{Name: "Stream", Value: s}}, Value: 1})
		}
		out.Points = append(out.Points, pipeline.Point{Name: "Sum", Dimensions: []pipeline.Dimension{{Name: "Metric", Value: "x"}}, Value: 1})
		out.Points = append(out.Points, pipeline.Point{Name: "Sum", Dimensions: []pipeline.Dimension{{Name: "RuleName", Value: "s"}}, Stats: &pipeline.StatisticSet{SampleCount: 1}})
		h.analyze(out)
	}
	if got := h.a.t.len(); got != 3 {
		t.Fatalf("%d series, want the cap 3", got)
	}
	for _, s := range streams[:3] {
		if h.a.t.lookup([]byte(`Records{Stream="`+s+`"}`)) == nil {
			t.Errorf("first-come series %s not kept", s)
		}
	}
	for _, c := range []struct {
		c    prometheus.Counter
		want float64
	}{{h.a.m.refuseMax, 2 * 5}, {h.a.m.refuseDims, 5}, {h.a.m.skipStats, 5}, {h.a.m.skipFirst, 3}, {h.a.m.observations, 3 * 4}} {
		if got := testutil.ToFloat64(c.c); got != c.want {
			t.Errorf("%v = %v, want %v", c.c.Desc(), got, c.want)
		}
	}
	// Only d and e from now on: a, b, c go idle and expire after 10 windows, and d, e get in.
	for i := 5; i < 17; i++ {
		out := &pipeline.Output{Window: windowN(i)}
		for _, s := range streams[3:] {
			out.Points = append(out.Points, pipeline.Point{Name: "Records", Dimensions: []pipeline.Dimension{{Name: "Stream", Value: s}}, Value: 1})
		}
		h.analyze(out)
	}
	if got := testutil.ToFloat64(h.a.m.expired); got != 3 {
		t.Errorf("expired %v, want 3", got)
	}
	for _, s := range streams[3:] {
		if h.a.t.lookup([]byte(`Records{Stream="`+s+`"}`)) == nil {
			t.Errorf("series %s not admitted once slots freed", s)
		}
	}
}

// TestMetricsLint: the analyzer's metrics pass the Prometheus linter once populated.
func TestMetricsLint(t *testing.T) {
	dir := t.TempDir()
	store, err := NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, DefaultConfig(), store)
	for i := range 3 {
		h.analyze(throughputOutput(i, "s", 10, 100))
	}
	problems, err := testutil.GatherAndLint(h.reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	n, err := testutil.GatherAndCount(h.reg, "weir_anomaly_snapshot_duration_seconds")
	if err != nil || n != 1 {
		t.Errorf("snapshot histogram: %d, %v", n, err)
	}
}

func TestIDs(t *testing.T) {
	dims := []pipeline.Dimension{{Name: "RuleName", Value: `r"1`}, {Name: "Contributor", Value: `a,b\`}}
	sortDims(dims)
	want := `ContributorValue{Contributor="a,b\\",RuleName="r\"1"}`
	if got := string(appendID(nil, contributorMetric, dims)); got != want {
		t.Errorf("appendID = %s, want %s", got, want)
	}
	val := appendContributor(nil, []string{"a", `b\`})
	if got := string(appendContributorID(nil, val, `r"1`)); got != want {
		t.Errorf("appendContributorID = %s, want %s", got, want)
	}
	// Values that would collide unquoted stay distinct.
	x := appendID(nil, "M", []pipeline.Dimension{{Name: "A", Value: `1",B="2`}})
	y := appendID(nil, "M", []pipeline.Dimension{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}})
	if string(x) == string(y) {
		t.Errorf("ids collide: %s", x)
	}
	long := appendContributor(nil, []string{strings.Repeat("é", 600)})
	if len(long) > maxDimensionValue || !strings.HasPrefix(strings.Repeat("é", 600), string(long)) {
		t.Errorf("contributor value cut to %d bytes, not at a rune boundary", len(long))
	}
	w := &watch{id: string(appendContributorID(nil, long, "r"))}
	if n := w.reportName(); len(n) > maxReportName || !strings.HasPrefix(w.id, strings.SplitN(n, "~", 2)[0]) {
		t.Errorf("report name %q (%d bytes)", n, len(n))
	}
}

// TestUnlearnableValuesCounted: a watched point whose value the detector does not learn (NaN,
// ±Inf, beyond ±1e300: Detector.Observe) is counted as skipped, reason not_finite, not as an
// observation, so that an exporter writing NaN is noticed; its series still publishes its
// expectation, with score 0.
func TestUnlearnableValuesCounted(t *testing.T) {
	h := newHarness(t, DefaultConfig(), nil)
	bad := map[int]float64{4: math.NaN(), 6: math.MaxFloat64, 8: math.Inf(-1)}
	for i := range 12 {
		v, ok := bad[i]
		if !ok {
			v = 100 + float64(i%3)
		}
		out := &pipeline.Output{Window: windowN(i)}
		out.Points = append(out.Points, pipeline.Point{Name: "Records", Dimensions: []pipeline.Dimension{{Name: "Stream", Value: "a"}}, Unit: pipeline.UnitCount, Value: v})
		h.analyze(out)
	}
	if got := testutil.ToFloat64(h.a.m.skipValue); got != 3 {
		t.Errorf("skipped %v values, want 3", got)
	}
	if got := testutil.ToFloat64(h.a.m.observations); got != 12-1-3 {
		t.Errorf("%v observations, want %d (the first window skipped, 3 values not learned)", got, 12-1-3)
	}
}
