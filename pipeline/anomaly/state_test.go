package anomaly

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/contrib"
)

// mixedOutputs returns n windows of throughput for two streams and a rule with churning
// contributors (so some are unlisted and censored), with a spike in stream a's records at
// spikeAt and a tenant jump at jumpAt.
func mixedOutputs(n, spikeAt, jumpAt int) []*pipeline.Output {
	rng := rand.New(rand.NewPCG(7, 8))
	outs := make([]*pipeline.Output, n)
	for i := range outs {
		out := &pipeline.Output{Window: windowN(i), Owner: "o"}
		ra := int64(2000 + 20*rng.NormFloat64())
		if i == spikeAt {
			ra *= 3
		}
		addThroughput(out, "a", ra, 300*ra)
		rb := int64(500 + 5*rng.NormFloat64())
		addThroughput(out, "b", rb, 200*rb)
		j := -1
		if i == jumpAt {
			j = 1
		}
		cs := contributorsAt(rng, j, 4)
		// Contributors drop out of the listed top 6: hooli (rank 5) two windows in seven,
		// umbrella (rank 4) one in eleven, sometimes both at once.
		var listed []contrib.Contributor
		for _, c := range cs {
			if (c.Keys[0] == "hooli" && i%7 >= 3 && i%7 <= 4) || (c.Keys[0] == "umbrella" && i%11 == 3) {
				continue
			}
			listed = append(listed, c)
		}
		addRule(out, "req-by-tenant", listed[:6])
		outs[i] = out
	}
	return outs
}

// clone copies an Output's slices so that two analyzers can append to the same window.
func clone(o *pipeline.Output) *pipeline.Output {
	c := *o
	c.Points = append([]pipeline.Point(nil), o.Points...)
	c.Reports = append([]pipeline.Report(nil), o.Reports...)
	return &c
}

// TestRestoreIsExact: an analyzer fed windows 0..k-1 and saved, then restored into a new
// analyzer that continues from k, appends exactly what one uninterrupted analyzer appends, and
// raises the same events after k (there are some, so the check is not vacuous).
func TestRestoreIsExact(t *testing.T) {
	// Saved after window k-1 = 332 (the 333rd, a multiple of snapshot_every), in which hooli
	// is unlisted; in window k both hooli and umbrella are unlisted. So the first windows after
	// the restore depend on the saved expectations of unlisted contributors and on the order
	// the rule's series are visited in, not only on the detectors.
	const n, k = 520, 333
	outs := mixedOutputs(n, 400, 450)
	cfg := DefaultConfig()
	cfg.SnapshotEvery = 3

	whole := newHarness(t, cfg, nil)
	var wantPts [][]pipeline.Point
	var wantReps [][]pipeline.Report
	var censored int
	for i, o := range outs {
		p, r := whole.analyze(clone(o))
		wantPts, wantReps = append(wantPts, p), append(wantReps, r)
		for _, ob := range whole.a.obs {
			if ob.censored && i >= k {
				censored++
			}
		}
	}

	store, err := NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	first := newHarness(t, cfg, store)
	for _, o := range outs[:k] {
		first.analyze(clone(o))
	}
	second := newHarness(t, cfg, store)
	if got, want := second.a.t.len(), first.a.t.len(); got != want {
		t.Fatalf("restored %d series, want %d", got, want)
	}
	// A replay of the last saved window is not learned twice (a second restored analyzer, so
	// that the one compared below sees exactly the windows the uninterrupted one saw).
	replay := newHarness(t, cfg, store)
	if p, r := replay.analyze(clone(outs[k-1])); len(p) != 0 || len(r) != 0 {
		t.Fatalf("a replayed window produced %d points, %d reports", len(p), len(r))
	}
	if got := testutil.ToFloat64(replay.a.m.skipStale); got != float64(replay.a.t.len()) {
		t.Errorf("replayed window: %v values skipped as stale, want one per series (%d)", got, replay.a.t.len())
	}

	var after int
	for i := k; i < n; i++ {
		p, r := second.analyze(clone(outs[i]))
		if !reflect.DeepEqual(p, wantPts[i]) {
			t.Fatalf("window %d: points differ after restore\n got %v\nwant %v", i, p, wantPts[i])
		}
		if !reflect.DeepEqual(r, wantReps[i]) {
			t.Fatalf("window %d: reports differ after restore\n got %+v\nwant %+v", i, r, wantReps[i])
		}
		after += len(events(r))
	}
	if after == 0 {
		t.Fatal("no events after the restore point: the comparison proves little")
	}
	if censored == 0 {
		t.Error("no censored value was observed: the unlisted-contributor path was not exercised")
	}
}

// TestRestoreAdoptsConfig: a restored detector takes the configured detector settings, and a
// lowered max_series keeps the most recently present series, counting the rest.
func TestRestoreAdoptsConfig(t *testing.T) {
	store, err := NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	h := newHarness(t, cfg, store)
	for i := range 3 {
		out := &pipeline.Output{Window: windowN(i)}
		for _, s := range []string{"x", "y", "z"}[:i+1] { // z is the most recent
			out.Points = append(out.Points, pipeline.Point{Name: "Records", Dimensions: []pipeline.Dimension{{Name: "Stream", Value: s}}, Value: 1})
		}
		h.analyze(out)
	}
	cfg.MaxSeries = 1
	cfg.AlarmScore = 0.6
	r := newHarness(t, cfg, store)
	if r.a.t.len() != 1 || r.a.t.lookup([]byte(`Records{Stream="z"}`)) == nil {
		t.Fatalf("restored %d series, want z only", r.a.t.len())
	}
	if got := testutil.ToFloat64(r.a.m.refuseMax); got != 2 {
		t.Errorf("refused %v, want 2", got)
	}
	if got := r.a.t.head.det.p.alarm; got != 0.6 {
		t.Errorf("restored alarm_score %v, want the configured 0.6", got)
	}
}

// memStore is a StateStore in memory that can fail on demand.
type memStore struct {
	data    map[string][]byte
	loadErr error
	saveErr error
}

func (m *memStore) Load(_ context.Context, name string) ([]byte, error) {
	if m.loadErr != nil {
		return nil, m.loadErr
	}
	b, ok := m.data[name]
	if !ok {
		return nil, ErrStateNotFound
	}
	return b, nil
}

func (m *memStore) Save(_ context.Context, name string, data []byte) error {
	if m.saveErr != nil {
		return m.saveErr
	}
	m.data[name] = data
	return nil
}

func TestRestoreFailures(t *testing.T) {
	cfg := DefaultConfig()

	// An unavailable store fails construction: starting empty would overwrite the state.
	if _, err := NewAnalyzer(cfg, &memStore{loadErr: errors.New("boom")}, prometheusRegistry(), nil); err == nil {
		t.Error("a failing Load did not fail NewAnalyzer")
	}

	// A garbage snapshot is counted and ignored.
	st := &memStore{data: map[string][]byte{"anomaly": []byte("not msgpack at all")}}
	h := newHarness(t, cfg, st)
	if h.a.t.len() != 0 || testutil.ToFloat64(h.a.m.snapshotErrors.WithLabelValues("decode")) != 1 {
		t.Error("a garbage snapshot was not counted as a decode error")
	}

	// A failing save is counted and logged; the next window saves again.
	h.analyze(throughputOutput(0, "s", 10, 100))
	st.saveErr = errors.New("disk full")
	h.analyze(throughputOutput(1, "s", 10, 100))
	if testutil.ToFloat64(h.a.m.snapshotErrors.WithLabelValues("save")) != 1 || !strings.Contains(h.log.String(), "disk full") {
		t.Error("a failing Save was not counted and logged")
	}

	// One corrupt detector costs one series.
	st.saveErr = nil
	h.analyze(throughputOutput(2, "s", 10, 100))
	good := newHarness(t, cfg, st)
	if good.a.t.len() != 2 {
		t.Fatalf("restored %d series, want 2", good.a.t.len())
	}
	good.a.t.head.det.p.memory = 1 // invalid: the detector's snapshot refuses it
	data, err := good.a.encode()
	if err != nil {
		t.Fatal(err)
	}
	st.data["anomaly"] = data
	one := newHarness(t, cfg, st)
	if one.a.t.len() != 1 || testutil.ToFloat64(one.a.m.refuseRestore) != 1 {
		t.Errorf("restored %d series, %v refused; want 1 and 1", one.a.t.len(), testutil.ToFloat64(one.a.m.refuseRestore))
	}
}

// TestOwnOutputsNotWatched: even a catch-all pattern never watches the analyzer's own points.
func TestOwnOutputsNotWatched(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Metrics = []string{"*"}
	h := newHarness(t, cfg, nil)
	out := &pipeline.Output{Window: windowN(0)}
	for _, name := range []string{MetricScore, MetricExpected, MetricLower, MetricUpper, "Records"} {
		out.Points = append(out.Points, pipeline.Point{Name: name, Value: 1})
	}
	h.analyze(out)
	if h.a.t.len() != 1 {
		t.Errorf("%d series watched, want 1 (Records)", h.a.t.len())
	}
}

// TestContributorPointer: a report body may be a *contrib.Report too.
func TestContributorPointer(t *testing.T) {
	h := newHarness(t, DefaultConfig(), nil)
	out := &pipeline.Output{Window: windowN(0), Reports: []pipeline.Report{
		{Kind: "report", Name: "r", Body: &contrib.Report{RuleName: "r", Contributors: []contrib.Contributor{{Keys: []string{"k"}, ApproximateAggregateValue: 3}}}},
		{Kind: "report", Name: "nil", Body: (*contrib.Report)(nil)},
		{Kind: "summary", Name: "throughput", Body: contrib.Report{RuleName: "not-a-rule"}},
	}}
	h.analyze(out)
	if h.a.t.len() != 1 || h.a.t.lookup([]byte(`ContributorValue{Contributor="k",RuleName="r"}`)) == nil {
		t.Errorf("%d series; want the one contributor of r", h.a.t.len())
	}
}

// The snapshot taken with a window is saved only once that window's output is durable: a crash
// before then restores detectors that have not learned the window, so its replay is analysed
// again instead of being skipped as already seen.
func TestSnapshotWaitsForDurability(t *testing.T) {
	store := &memStore{data: map[string][]byte{}}
	cfg := DefaultConfig()
	h := newHarness(t, cfg, store)
	w := func(i int) *pipeline.Output {
		start := time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
		return &pipeline.Output{Window: pipeline.Window{Start: start, End: start.Add(time.Minute)},
			Points: []pipeline.Point{{Name: "Records", Dimensions: []pipeline.Dimension{{Name: "Stream", Value: "s"}}, Time: start, Value: 100}}}
	}
	first, second := w(0), w(1)
	h.a.Analyze(first)
	h.a.Analyze(second)
	if len(store.data) != 0 {
		t.Fatal("a snapshot was saved before any window was durable")
	}
	h.a.Durable(first)
	saved := string(store.data[cfg.SnapshotName])
	if saved == "" {
		t.Fatal("nothing saved once the first window was durable")
	}
	h.a.Durable(second)
	if string(store.data[cfg.SnapshotName]) == saved {
		t.Error("the second window's snapshot was not saved when it became durable")
	}
	h.a.Durable(first) // a repeat (or an unknown output) saves nothing and does not panic
}

// TestRestoreInAnotherZone: a snapshot taken at UTC and restored with anomaly.time_zone set to
// Europe/Berlin logs one warning naming both zones and the series concerned; the restored
// detectors read their clock in Berlin from their first point and keep what they learned,
// profile included (Detector.adopt says why). Restored in the zone it was taken in, no warning.
func TestRestoreInAnotherZone(t *testing.T) {
	store, err := NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	h := newHarness(t, cfg, store)
	for i := range 90 {
		h.analyze(throughputOutput(i, "a", int64(1000+10*(i%30)), 300_000))
	}
	saved := h.a.t.head.det
	cfg.TimeZone = "Europe/Berlin"
	r := newHarness(t, cfg, store)
	warns := r.warnLines()
	if len(warns) != 1 || !strings.Contains(warns[0], "snapshot_time_zone=UTC") || !strings.Contains(warns[0], "time_zone=Europe/Berlin") ||
		!strings.Contains(warns[0], fmt.Sprintf("series=%d", h.a.t.len())) {
		t.Errorf("restored in another zone, the log's warnings: %q, want one naming UTC, Europe/Berlin and the %d series", warns, h.a.t.len())
	}
	got := r.a.t.head.det
	if got.p.zone != "Europe/Berlin" || got.p.loc == nil || got.p.loc.String() != "Europe/Berlin" {
		t.Errorf("restored detector in zone %q (%v), want Europe/Berlin", got.p.zone, got.p.loc)
	}
	if got.fc != saved.fc || got.n != saved.n {
		t.Error("the restored detector's forecaster differs from the saved one's")
	}
	// Saved again, now in Berlin, and restored in Berlin: nothing to warn about.
	r.analyze(throughputOutput(90, "a", 1000, 300_000))
	if again := newHarness(t, cfg, store); len(again.warnLines()) != 0 {
		t.Errorf("restored in the zone it was taken in, the log's warnings: %q, want none", again.warnLines())
	}
}
