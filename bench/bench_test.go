package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// TestSmoke runs a tiny version of the baseline and standard scenarios in-process (no child
// processes, a few thousand records) and renders the report: the harness measures what it
// claims (every record, windows made durable) and its outputs are well formed.
func TestSmoke(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const n = 3000
	ds := dataset{Records: n, Format: "json", Start: time.Now().Add(-time.Hour).Truncate(time.Minute), Span: eventSpan, Seed: 1}
	if err := createTopic(ctx, c.ListenAddrs(), topicJSON); err != nil {
		t.Fatal(err)
	}
	if _, err := produceBacklog(ctx, c.ListenAddrs(), topicJSON, ds, io.Discard); err != nil {
		t.Fatal(err)
	}
	rules, err := filepath.Glob("../examples/rules/*.json")
	if err != nil || len(rules) != 3 {
		t.Fatalf("rules: %v %v", rules, err)
	}
	rep := newReport(defaultOptions())
	for _, sp := range []spec{
		{Name: "baseline-poll", Kind: kindPoll},
		{Name: "baseline-decode", Kind: kindDecode},
		{Name: "baseline-decode-parallel", Kind: kindParallel},
		{Name: "standard", Kind: kindPipeline},
	} {
		sp.Brokers, sp.Topic, sp.Format, sp.Records = c.ListenAddrs(), topicJSON, "json", n
		sp.Rules, sp.BudgetBytes, sp.Window, sp.TimeField, sp.Dir = rules, 1<<20, time.Minute, "$.ts", t.TempDir()
		var out bytes.Buffer
		if err := runChild(ctx, sp, &out, io.Discard); err != nil {
			t.Fatalf("%s: %v", sp.Name, err)
		}
		var r result
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v in %q", sp.Name, err, out.String())
		}
		if r.Records != n || r.RecordsPerSec <= 0 || r.PeakRSSBytes <= 0 {
			t.Errorf("%s: %d records at %.0f/s, peak RSS %d", sp.Name, r.Records, r.RecordsPerSec, r.PeakRSSBytes)
		}
		if sp.Kind == kindPipeline && (r.Partials < 20 || r.DurableSeconds < r.Seconds) {
			t.Errorf("standard: %d partials durable after %.3fs (drained after %.3fs); want at least the 20 windows the data spans",
				r.Partials, r.DurableSeconds, r.Seconds)
		}
		rep.Runs = append(rep.Runs, r)
	}
	rep.finish()
	for _, k := range []string{"standard/baseline-poll", "standard/baseline-decode-parallel"} {
		if q := rep.Ratios[k]; q.CPU <= 0 || q.Wall <= 0 || len(q.CPUPerRep) != 1 {
			t.Errorf("ratio %s: %+v", k, q)
		}
	}
	if len(rep.Targets) < 4 {
		t.Errorf("targets %v", rep.Targets)
	}
	md := rep.markdown()
	if !strings.Contains(md, "| standard | 1 |") {
		t.Errorf("summary lacks the standard row:\n%s", md)
	}
	dir := t.TempDir()
	if err := rep.write(dir); err != nil {
		t.Fatal(err)
	}
}

// Every repeated run takes every position once in as many repetitions as there are runs, and,
// over a whole design (n repetitions, 2n for odd n), follows every other run equally often.
func TestRotation(t *testing.T) {
	for n := 1; n <= 7; n++ {
		rows := n
		if n%2 == 1 {
			rows = 2 * n
		}
		at := make([][]int, n) // at[run][position]
		for i := range at {
			at[i] = make([]int, n)
		}
		follows := map[[2]int]int{}
		for rep := range rows {
			row := rotation(n, rep)
			seen := map[int]bool{}
			for pos, run := range row {
				if run < 0 || run >= n || seen[run] {
					t.Fatalf("n=%d rep %d: %v is not an order of the runs", n, rep, row)
				}
				seen[run] = true
				if rep < n {
					at[run][pos]++
				}
				if pos > 0 {
					follows[[2]int{row[pos-1], run}]++
				}
			}
		}
		for run := range n {
			for pos := range n {
				if at[run][pos] != 1 {
					t.Errorf("n=%d: run %d took position %d %d times in %d repetitions", n, run, pos, at[run][pos], n)
				}
			}
		}
		want := rows / n // ordered pairs per design: rows·(n-1) adjacencies over n·(n-1) pairs
		for a := range n {
			for b := range n {
				if a != b && follows[[2]int{a, b}] != want {
					t.Errorf("n=%d: run %d followed run %d %d times, want %d", n, b, a, follows[[2]int{a, b}], want)
				}
			}
		}
	}
	if got := rotation(2, 1); got[0] != 1 {
		t.Errorf("two runs: repetition 1 is %v, want them swapped", got)
	}
}

// Ratios pair runs by repetition, whatever their order in the list, and give both measures.
func TestRatioPairsByRepetition(t *testing.T) {
	rep := &report{Runs: []result{
		{Name: "a", Rep: 0, RecordsPerSec: 100, RecordsPerCPUSec: 50},
		{Name: "b", Rep: 0, RecordsPerSec: 200, RecordsPerCPUSec: 200},
		{Name: "b", Rep: 1, RecordsPerSec: 100, RecordsPerCPUSec: 100},
		{Name: "a", Rep: 1, RecordsPerSec: 100, RecordsPerCPUSec: 80},
	}}
	q, ok := rep.ratioOf("a", "b")
	if !ok || len(q.CPUPerRep) != 2 || q.CPUPerRep[0] != 0.25 || q.CPUPerRep[1] != 0.8 || q.WallPerRep[0] != 0.5 || q.WallPerRep[1] != 1 {
		t.Fatalf("ratio %+v", q)
	}
	if q.CPU != 0.525 || q.Wall != 0.75 {
		t.Errorf("medians %v %v, want 0.525 0.75", q.CPU, q.Wall)
	}
	// A scenario that ran once against one that ran every repetition: median against median.
	rep.Runs = append(rep.Runs, result{Name: "c", Rep: 1, RecordsPerSec: 300, RecordsPerCPUSec: 300})
	if q, _ := rep.ratioOf("c", "b"); q.CPUPerRep != nil || q.Wall != 2 || q.CPU != 2 {
		t.Errorf("unpaired ratio %+v, want 2 and 2 from the medians", q)
	}
}

// TestStallAnalyze checks the stall arithmetic on a made-up series: 1000 records/s, nothing
// during a 2 s stall, then 500/s for a second, then 1000/s again.
func TestStallAnalyze(t *testing.T) {
	first := time.Unix(1000, 0)
	st := newStaller(2 * time.Second)
	st.began, st.ended = first.Add(3*time.Second), first.Add(5*time.Second)
	var series []sample
	var n int64
	for i := 0; i <= 80; i++ {
		tm := float64(i) / 10
		rss := int64(100 << 20) // before the stall; 105 MiB during it, 120 MiB in the catch-up
		switch {
		case tm > 5:
			rss = 120 << 20
		case tm >= 3:
			rss = 105 << 20
		}
		series = append(series, sample{T: tm, Records: n, RSS: rss})
		switch {
		case tm < 3:
			n += 100
		case tm < 5:
		case tm < 6:
			n += 50
		default:
			n += 100
		}
	}
	r := st.analyze(first, series, 64<<20)
	if r.SteadyRate < 990 || r.SteadyRate > 1010 {
		t.Errorf("steady rate %v, want 1000", r.SteadyRate)
	}
	// The first 0.5 s window at ≥ 900/s is 5.9–6.4 s: one step at 500/s, four at 1000/s.
	if r.RecoverySeconds < 1.35 || r.RecoverySeconds > 1.45 {
		t.Errorf("recovery %v s, want 1.4", r.RecoverySeconds)
	}
	if r.RecordsDuringStall > 100 {
		t.Errorf("%d records during the stall, want at most one step", r.RecordsDuringStall)
	}
	// The growth with the catch-up and the stall's own are told apart.
	if math.Abs(r.RSSGrowthInRun-0.20) > 1e-9 || math.Abs(r.RSSGrowthStall-0.05) > 1e-9 {
		t.Errorf("RSS growth %.3f in the run and %.3f during the stall, want 0.200 and 0.050", r.RSSGrowthInRun, r.RSSGrowthStall)
	}
}

// The stall arms after StallAfter of draining, or at StallAt records if that comes first, and
// on records alone when StallAfter is unset.
func TestStallDue(t *testing.T) {
	sp := spec{StallAfter: 5 * time.Second, StallAt: 8000}
	for _, c := range []struct {
		s    sample
		want bool
	}{
		{sample{T: 4.9, Records: 7000}, false},
		{sample{T: 5, Records: 7000}, true},
		{sample{T: 3, Records: 8000}, true},
	} {
		if got := sp.stallDue(c.s); got != c.want {
			t.Errorf("stallDue(%+v) = %v, want %v", c.s, got, c.want)
		}
	}
	if (spec{StallAt: 8000}).stallDue(sample{T: 60, Records: 7999}) {
		t.Error("with no StallAfter, the stall armed before StallAt records")
	}
}

// The latency probe keeps the worst delay of each second, and the latency plot draws it.
func TestLatencyWorstPerSecond(t *testing.T) {
	p := newLatencyProbe(1)
	t0 := time.Unix(1000, 0)
	p.recordState(t0, 5*time.Millisecond)
	p.recordState(t0.Add(300*time.Millisecond), 40*time.Millisecond)
	p.recordState(t0.Add(2500*time.Millisecond), 7*time.Millisecond)
	r := p.result()
	want := []float64{40, 0, 7}
	if len(r.WorstPerSecond) != len(want) {
		t.Fatalf("worst per second %v, want %v", r.WorstPerSecond, want)
	}
	for i := range want {
		if r.WorstPerSecond[i] != want[i] {
			t.Fatalf("worst per second %v, want %v", r.WorstPerSecond, want)
		}
	}
	if r.ToState.Count != 3 || r.ToState.Max < 39.9 {
		t.Errorf("histogram %+v", r.ToState)
	}
	if svg := string(latencySVG(r)); !strings.Contains(svg, "Worst sampled") {
		t.Errorf("latency plot lacks the per-second chart")
	}
}

// With -before, the earlier build's runs are compared with the same baselines, with each other
// (msgpack@before ÷ standard@before), and each run with its earlier self; its targets are
// listed beside this build's.
func TestBeforeRatios(t *testing.T) {
	rep := newReport(defaultOptions())
	for i, run := range []struct {
		name     string
		cpu, all float64
	}{
		{"baseline-poll", 200, 300}, {"baseline-decode-parallel", 100, 150},
		{"standard", 150, 240}, {"standard@before", 100, 200},
		{"msgpack", 180, 260}, {"msgpack@before", 110, 210},
	} {
		rep.Runs = append(rep.Runs, result{Name: run.name, Rep: 0, RecordsPerCPUSec: run.cpu, RecordsPerSec: run.all, PeakRSSBytes: int64(64+i) << 20})
	}
	rep.finish()
	for key, want := range map[string]float64{
		"standard/standard@before":       1.5,
		"standard@before/baseline-poll":  0.5,
		"msgpack@before/standard@before": 1.1,
		"msgpack/msgpack@before":         180.0 / 110,
	} {
		if got := rep.Ratios[key].CPU; got < want-1e-9 || got > want+1e-9 {
			t.Errorf("%s per CPU-second = %v, want %v", key, got, want)
		}
	}
	if _, ok := rep.Ratios["baseline-poll@before/baseline-poll"]; ok {
		t.Error("baselines have no earlier build")
	}
	if len(rep.TargetsBefore) == 0 || rep.TargetsBefore[0].Value != 0.5 {
		t.Errorf("targets before %+v", rep.TargetsBefore)
	}
	if md := rep.markdown(); !strings.Contains(md, "| before (-before build) |") {
		t.Errorf("the targets table has no before column:\n%s", md)
	}
}

// The options the orchestrator derives: a full rotation of repetitions (one per repeated run,
// and twice the weir runs with -before), and keys levels as long as standard unless told.
func TestOptionsDerived(t *testing.T) {
	parse := func(args ...string) options {
		t.Helper()
		fl := flag.NewFlagSet("bench", flag.ContinueOnError)
		o := defaultOptions()
		o.register(fl)
		if err := fl.Parse(append([]string{"-rules", "../examples/rules/*.json"}, args...)); err != nil {
			t.Fatal(err)
		}
		if err := o.finish(fl); err != nil {
			t.Fatal(err)
		}
		return o
	}
	if o := parse("-short"); o.Reps != 6 || o.KeysRecords != o.Records || o.Records != 1_000_000 {
		t.Errorf("-short: %d repetitions, %d records a keys level, %d records", o.Reps, o.KeysRecords, o.Records)
	}
	if o := parse("-scenarios", "standard", "-before", os.Args[0]); o.Reps != 5 {
		t.Errorf("standard with -before: %d repetitions, want 5 (3 baselines, standard, standard@before)", o.Reps)
	}
	if o := parse("-keys-records", "5000", "-reps", "2"); o.KeysRecords != 5000 || o.Reps != 2 {
		t.Errorf("explicit flags: %d records a keys level, %d repetitions", o.KeysRecords, o.Reps)
	}
	// As in a container: the worker derives the budget from the limit, unless -budget says.
	if o := parse("-memory-limit", "201326592"); o.MemoryLimit != 192<<20 || o.BudgetBytes != 0 {
		t.Errorf("-memory-limit alone: limit %d, budget %d; want the budget left to the worker", o.MemoryLimit, o.BudgetBytes)
	}
	if o := parse("-memory-limit", "201326592", "-budget", "33554432"); o.BudgetBytes != 32<<20 {
		t.Errorf("-memory-limit with -budget: budget %d, want -budget's", o.BudgetBytes)
	}
}

// Each collection's live heap is counted once, from the first sample that saw it, and only
// within the span asked for.
func TestCollectionsLive(t *testing.T) {
	mb := int64(1 << 20)
	at := func(tm float64, gcs, live int64) sample {
		return sample{T: tm, Heap: &heapStat{GCs: gcs, Live: live * mb}}
	}
	series := []sample{
		at(0.1, 1, 5),  // before the span
		at(0.6, 2, 20), // the first sample of the span: its collection may predate the span
		at(0.7, 3, 22), // collection 3
		at(0.8, 3, 22), // the same collection again
		at(0.9, 5, 30), // 4 and 5 between two samples: 5's live heap
		at(1.0, 6, 24), // collection 6
		at(1.1, 7, 26), // collection 7
		at(2.0, 8, 90), // after the span
		at(2.1, 9, 95), // after the span
		{T: 1.05},      // no heap figures: skipped
	}
	got := collectionsLive(series, 0.5, 2.0)
	want := liveAtCollections{Collections: 4, Median: 26 * mb, P90: 30 * mb, Max: 30 * mb}
	if got != want {
		t.Fatalf("collectionsLive = %+v, want %+v", got, want)
	}
	if got := collectionsLive(series, 3, 4); got != (liveAtCollections{}) {
		t.Fatalf("no samples in the span: %+v, want zero", got)
	}
}
