package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weirstream/weir/pipeline/anomaly"
)

// results is a hand-made run: alarms at the given indices, and scores as given.
func results(n int, alarms []int, scores map[int]float64) []anomaly.Result {
	rs := make([]anomaly.Result, n)
	for i, s := range scores {
		rs[i].Score = s
	}
	for _, i := range alarms {
		rs[i].Alarm, rs[i].Peak = true, true
	}
	return rs
}

func TestJudge(t *testing.T) {
	rs := results(2000, []int{3, 999, 1000, 1504, 1507},
		map[int]float64{3: 0.6, 1499: 0.9, 1500: 0.2, 1504: 0.5, 1507: 0.7, 1513: 0.95})
	all, young := falseAlarms(rs)
	if all != 5 || young != 2 {
		t.Errorf("falseAlarms = %d, %d; want 5 in all, 2 in the first %d", all, young, youngPoints)
	}
	for _, c := range []struct {
		at, delay int
		want      outcome
	}{
		{1500, 12, outcome{detected: true, delay: 4, best: 0.7}}, // 1499 before, 1513 after the window
		{1500, 0, outcome{best: 0.2}},                            // a spike's window is its point
		{1500, 3, outcome{best: 0.2}},
		{1504, 0, outcome{detected: true, delay: 0, best: 0.5}},
		{1990, 20, outcome{}}, // the window runs off the end of the series
	} {
		if got := judge(rs, c.at, c.delay); got != c.want {
			t.Errorf("judge(at %d, delay %d) = %+v, want %+v", c.at, c.delay, got, c.want)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{{nil, -1}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.xs); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.xs, got, c.want)
		}
	}
}

func TestCompare(t *testing.T) {
	base := synthRun{Version: saveVersion, Seeds: 2, Step: "5m0s", ObserveCount: true,
		Clean: []cleanRow{{Series: "a/value", Points: 10000, Alarms: 10, YoungPoints: 1000, YoungAlarms: 3},
			{Series: "b/value", Points: 10000, Alarms: 1, YoungPoints: 1000}},
		Detect: []detectRow{{Series: "a/value", Kind: "spike", Seeds: 2, Detected: 1, MedianBest: 0.4},
			{Series: "b/value", Kind: "spike", Seeds: 2, Detected: 2, MedianBest: 0.9}},
	}
	cur := base
	cur.Clean = []cleanRow{base.Clean[0], base.Clean[1]}
	cur.Clean[0].Alarms = 20
	cur.Detect = []detectRow{base.Detect[0], base.Detect[1]}
	cur.Detect[0].Detected, cur.Detect[0].MedianDelay, cur.Detect[0].MedianBest = 2, 1, 0.6
	base.Delivery = []deliveryRow{{Series: "a/value", Kind: "gap 2h", Points: 1000, Alarms: 1, EarlyPoints: 100},
		{Series: "b/value", Kind: "gap 2h", Points: 1000, EarlyPoints: 100}}
	cur.Delivery = []deliveryRow{base.Delivery[0], base.Delivery[1]}
	cur.Delivery[1].Alarms, cur.Delivery[1].EarlyAlarms = 2, 1
	var out bytes.Buffer
	if err := compare(&out, base, cur); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"a/value           10.00 ->  20.00 (+10.00)    30.00 ->  30.00 (+0.00)",
		"a/value          spike            1 -> 2    (  +1)      0 -> 1      0.400 -> 0.600 (+0.200)",
		"b/value          gap 2h        0.00 ->  20.00 (+20.00)     0.00 -> 100.00 (+100.00)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("comparison lacks %q:\n%s", want, out.String())
		}
	}
	if n := strings.Count(out.String(), "(1 unchanged)"); n != 3 {
		t.Errorf("comparison should count one unchanged row of each table:\n%s", out.String())
	}
	cur.Seeds = 3
	if err := compare(&out, base, cur); err == nil {
		t.Error("runs over different seeds compared")
	}
}

// A run saved and compared with itself changes nothing; the count path is ObserveCount.
func TestRunSaveAgainst(t *testing.T) {
	if !hasObserveCount {
		t.Error("the detector has ObserveCount, but the count path does not find it")
	}
	path := filepath.Join(t.TempDir(), "run.json")
	var out bytes.Buffer
	if err := run([]string{"-seeds", "1", "-save", path}, &out); err != nil {
		t.Fatal(err)
	}
	saved, err := readRun(path)
	if err != nil {
		t.Fatal(err)
	}
	// 8 series kinds × 14 anomalies, less the 14 skipped (lag 3, errors 1, setting 10), and the
	// linear shifts' 2 on latency alone; 8 × 6 deliveries.
	// And 8 series kinds × 3 regime changes, less the setting's doubled noise and CPU's doubled
	// level.
	// And 5 small counts × 3 anomalies, less the stop on means 0.1 and 0.5.
	if saved.Seeds != 1 || len(saved.Clean) != 8 || len(saved.Detect) != 8*14-14+2 || len(saved.Delivery) != 8*6 || len(saved.Mature) != 8*3-2 ||
		len(saved.Small) != 5 || len(saved.SmallDetect) != 5*3-2 {
		t.Errorf("saved %d seeds, %d clean rows, %d detection rows, %d delivery rows, %d mature rows, %d small counts, %d small-count detection rows; want 1, 8 (6 families, 2 with a count path), 100, 48, 22, 5, 13",
			saved.Seeds, len(saved.Clean), len(saved.Detect), len(saved.Delivery), len(saved.Mature), len(saved.Small), len(saved.SmallDetect))
	}
	out.Reset()
	if err := run([]string{"-seeds", "1", "-against", path}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"(8 unchanged)", "(48 unchanged)", "(100 unchanged)", "(22 unchanged)", "(5 unchanged)", "(13 unchanged)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("a run against itself moved (no %q):\n%s", want, out.String())
		}
	}
	// A save from before the mature rows (round 74) and the small counts (round 96) is
	// comparable: the earlier rows unchanged, the mature rows and the small counts new.
	older := *saved
	older.Mature, older.Small, older.SmallDetect = nil, nil, nil
	olderPath := filepath.Join(t.TempDir(), "older.json")
	if err := writeRun(olderPath, older); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(olderPath); err != nil || bytes.Contains(b, []byte(`"mature"`)) || bytes.Contains(b, []byte(`"small":`)) || bytes.Contains(b, []byte(`"small_detect":`)) {
		t.Fatalf("a run without mature rows or small counts saved with their keys (error %v)", err)
	}
	out.Reset()
	if err := run([]string{"-seeds", "1", "-against", olderPath}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"(8 unchanged)", "(48 unchanged)", "(100 unchanged)", "(0 unchanged)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("a run against a save without mature rows: no %q:\n%s", want, out.String())
		}
	}
	if n := strings.Count(out.String(), " new\n"); n != 22+5+13 {
		t.Errorf("a run against a save without mature rows or small counts printed %d rows as new, want the 22 mature rows and the 18 small counts'", n)
	}
	// An incomparable base is refused before the run: nothing is printed.
	out.Reset()
	if err := run([]string{"-seeds", "2", "-against", path}, &out); err == nil || out.Len() > 0 {
		t.Errorf("a run over 2 seeds compared with one over 1 (error %v, %d bytes printed)", err, out.Len())
	}
	saved.Version = saveVersion - 1
	if err := writeRun(path, *saved); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"-seeds", "1", "-against", path}, &out); err == nil || out.Len() > 0 {
		t.Errorf("a run of version %d compared with one of version %d (error %v, %d bytes printed)", saveVersion, saveVersion-1, err, out.Len())
	}
}
