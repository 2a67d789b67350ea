package worker

import (
	"encoding/json"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/weirstream/weir/sinks/file/filetest"
)

// The embedded demo as `make run` runs it (the demo source, its built-in 5xx-by-tenant rule,
// the anomaly analyzer on its defaults), with 1-second windows and a 1-minute day played twice
// as fast, so its script runs in seconds: the deploy that doubles the 5xx rate at 12 s, the
// tenant's error burst at 16.2 s and the traffic spike at 19.8 s (event time). Each is flagged
// by an anomaly event on the series a user would look at: the shift on the rule's Sum, the
// burst on the bursting tenant's own series, the spike on the stream's Records.
func TestDemoScriptedAnomaliesFlagged(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for ~12 seconds")
	}
	dir := t.TempDir()
	cfg := testConfig(dir) // the demo source, 1-second windows
	cfg.Source.Demo.Rate, cfg.Source.Demo.Speed, cfg.Source.Demo.DayLength = 2000, 2, time.Minute
	cfg.Sinks.CloudWatch.ApplyDefaults()
	_, stop := runWorker(t, cfg, testDeps())

	// Event seconds since the demo started, for each scripted anomaly, and the series that
	// must flag it within a few windows.
	type want struct {
		what, series string
		at           float64
	}
	wants := []want{
		{"5xx rate doubles", `Sum{RuleName="5xx-by-tenant"}`, 12},
		{"error burst of t-0003", `ContributorValue{Contributor="t-0003",RuleName="5xx-by-tenant"}`, 16.2},
		{"traffic spike", `Records{Stream="events"}`, 19.8},
	}
	const within = 3 // windows
	var got map[string][]float64
	// ~12 s of wall time on an idle machine; the race detector on a busy one takes longer.
	deadline := time.Now().Add(90 * time.Second)
	for {
		got = anomalyEvents(t, dir)
		missing := 0
		for _, x := range wants {
			if !flaggedNear(got[x.series], x.at, within) {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, x := range wants {
		if !flaggedNear(got[x.series], x.at, within) {
			recs, late := windowRecords(t, dir, int(x.at)-8, int(x.at)+within+1)
			t.Errorf("%s at %.1f s: no event on %s within %d windows; events at %v; from %d s, records per window %v, late %v",
				x.what, x.at, x.series, within, got[x.series], int(x.at)-8, recs, late)
		}
	}
}

// windowRecords reads the records and the late ones the summary reports in dir counted in each
// window from second from to second to since the first window: what a failure is judged by.
func windowRecords(t *testing.T, dir string, from, to int) (records, late []int64) {
	t.Helper()
	var first time.Time
	type counts struct{ records, late int64 }
	byStart := map[time.Time]counts{}
	filetest.Lines(t, filepath.Join(dir, "kind=summary", "operator=throughput"), func(line []byte) {
		var r struct {
			Start   time.Time `json:"window_start"`
			Records int64     `json:"records"`
			Late    int64     `json:"late"`
		}
		if json.Unmarshal(line, &r) == nil {
			c := byStart[r.Start]
			byStart[r.Start] = counts{c.records + r.Records, c.late + r.Late}
			if first.IsZero() || r.Start.Before(first) {
				first = r.Start
			}
		}
	})
	for s := max(from, 0); s <= to; s++ {
		c := byStart[first.Add(time.Duration(s)*time.Second)]
		records, late = append(records, c.records), append(late, c.late)
	}
	return records, late
}

// anomalyEvents reads the anomaly events in dir: series → window starts, in seconds since the
// first window the worker reported.
func anomalyEvents(t *testing.T, dir string) map[string][]float64 {
	t.Helper()
	var first time.Time
	filetest.Lines(t, filepath.Join(dir, "kind=summary"), func(line []byte) {
		var r struct {
			Start time.Time `json:"window_start"`
		}
		if json.Unmarshal(line, &r) == nil && (first.IsZero() || r.Start.Before(first)) {
			first = r.Start
		}
	})
	out := map[string][]float64{}
	filetest.Lines(t, filepath.Join(dir, "kind=anomaly"), func(line []byte) {
		var ev struct {
			Series string    `json:"series"`
			Start  time.Time `json:"window_start"`
		}
		if err := json.Unmarshal(line, &ev); err != nil {
			t.Fatal(err)
		}
		out[ev.Series] = append(out[ev.Series], ev.Start.Sub(first).Seconds())
	})
	for _, v := range out {
		sort.Float64s(v)
	}
	return out
}

// flaggedNear reports whether an event window starts within [at−1, at+within] seconds.
func flaggedNear(events []float64, at float64, within int) bool {
	for _, e := range events {
		if e >= at-1 && e <= at+float64(within) {
			return true
		}
	}
	return false
}
