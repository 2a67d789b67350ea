package contrib

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/weirstream/weir/internal/benchclock"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/sources/demo"
)

// BenchmarkObserveExampleRules is the per-record cost of the three example rules
// (examples/rules: a filtered count per tenant, a filtered sum per (tenant, user), a count per
// (method, path)) on the demo's events, as the worker runs them: every rule's state observes
// every record. "zipf" draws the demo's skewed populations (most records hit tracked keys);
// "keys=N" cycles through exactly N (tenant, user) contributors as the end-to-end keys
// scenario does (past the 1000 counters every record of the per-user rule evicts).
func BenchmarkObserveExampleRules(b *testing.B) {
	for _, distinct := range []int{0, 1000, 100_000, 1_000_000} {
		name := "zipf"
		if distinct > 0 {
			name = fmt.Sprintf("keys=%d", distinct)
		}
		b.Run(name, func(b *testing.B) {
			plan := decode.NewPlan(decode.JSON)
			states := exampleRuleStates(b, plan)
			events := demoEvents(b, plan, 1<<14, distinct)
			rec := &pipeline.Record{}
			b.ReportAllocs()
			i := 0
			clock := benchclock.Start()
			for b.Loop() {
				e := events[i&(len(events)-1)]
				for _, st := range states {
					st.Observe(rec, e)
				}
				i++
			}
			clock.Report(b)
		})
	}
}

// BenchmarkObserveExampleRulesWindows is BenchmarkObserveExampleRules with fresh states every
// 12,500 records, as a runner of the bench's standard scenario has them: 2 M records over 20
// one-minute windows and 8 partitions. Each window's states start empty, fill their 1,000
// counters and, for the per-user rule, evict from then on.
func BenchmarkObserveExampleRulesWindows(b *testing.B) { benchWindows(b, 1) }

// BenchmarkObserveExampleRulesPartitions is BenchmarkObserveExampleRulesWindows for 8
// partitions on one goroutine, a batch of 330 records (the bench's average fetched batch) of
// each in turn, as a core of the bench's worker runs its share of the 8 runners: every batch
// meets the states of another partition, which the batch before has pushed out of the caches
// closest to the core.
func BenchmarkObserveExampleRulesPartitions(b *testing.B) { benchWindows(b, 8) }

func benchWindows(b *testing.B, parts int) {
	const perWindow, batch = 12_500, 330
	plan := decode.NewPlan(decode.JSON)
	ops := exampleRuleOps(b, plan)
	events := demoEvents(b, plan, 1<<16, 0)
	rec := &pipeline.Record{}
	states := make([][]*State, parts)
	seen := make([]int, parts)
	for p := range states {
		states[p] = make([]*State, len(ops))
	}
	b.ReportAllocs()
	i := 0
	clock := benchclock.Start()
	for b.Loop() {
		p := i / batch % parts
		if seen[p]%perWindow == 0 {
			for k, op := range ops {
				states[p][k] = op.newState()
			}
		}
		seen[p]++
		e := events[i&(len(events)-1)]
		for _, st := range states[p] {
			st.Observe(rec, e)
		}
		i++
	}
	clock.Report(b)
}

func exampleRuleStates(tb testing.TB, plan *decode.Plan) []*State {
	var states []*State
	for _, op := range exampleRuleOps(tb, plan) {
		states = append(states, op.newState())
	}
	return states
}

func exampleRuleOps(tb testing.TB, plan *decode.Plan) []*Operator {
	files, err := filepath.Glob("../../examples/rules/*.json")
	if err != nil || len(files) == 0 {
		tb.Fatalf("example rules: %v (%d files)", err, len(files))
	}
	var ops []*Operator
	for _, f := range files {
		def, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		r, err := ParseRule(filepath.Base(f), def)
		if err != nil {
			tb.Fatal(err)
		}
		op, err := New(r, plan, Options{})
		if err != nil {
			tb.Fatal(err)
		}
		ops = append(ops, op)
	}
	return ops
}

// demoEvents decodes n demo events; distinct > 0 cycles users as the bench's keys scenario.
func demoEvents(tb testing.TB, plan *decode.Plan, n, distinct int) [][]decode.Value {
	r := rand.New(rand.NewPCG(3, 4))
	tenants, users := demo.NewZipf(200, 1.1), demo.NewZipf(20000, 1.05)
	dec := plan.NewDecoder()
	ts := time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC)
	out := make([][]decode.Value, n)
	var doc []byte
	for i := range out {
		e := demo.Event{TS: ts}
		if distinct > 0 {
			e.User = int((uint64(i)*2654435761)%uint64(distinct)) + 1
			e.Tenant = e.User%200 + 1
		} else {
			e.Tenant, e.User = tenants.Draw(r)+1, users.Draw(r)+1
		}
		e.Fill(r, 0.01)
		doc = e.AppendJSON(doc[:0])
		vals := make([]decode.Value, plan.Len())
		if err := dec.Decode(doc, vals); err != nil {
			tb.Fatal(err)
		}
		for j := range vals {
			vals[j].Bytes = append([]byte(nil), vals[j].Bytes...)
		}
		out[i] = vals
	}
	return out
}
