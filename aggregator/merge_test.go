package aggregator

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/contrib"
)

// truth is the exact answer of one example rule over some events, computed without weir's
// decoder, filters or sketches.
type truth struct {
	n, sum, min, max float64
	byKey            map[string]float64
}

// exampleTruth evaluates the three example rules by hand on the events keep selects.
func exampleTruth(t testing.TB, events []event, w int, keep func(event) bool) map[string]*truth {
	out := map[string]*truth{}
	add := func(rule, key string, v float64) {
		tr := out[rule]
		if tr == nil {
			tr = &truth{byKey: map[string]float64{}}
			out[rule] = tr
		}
		if tr.n == 0 || v < tr.min {
			tr.min = v
		}
		if tr.n == 0 || v > tr.max {
			tr.max = v
		}
		tr.n++
		tr.sum += v
		tr.byKey[key] += v
	}
	for _, e := range events {
		if e.window != w || keep != nil && !keep(e) {
			continue
		}
		var d struct {
			Tenant, User, Method, Path string
			Status, Bytes              float64
		}
		if err := json.Unmarshal(e.doc, &d); err != nil {
			t.Fatal(err)
		}
		if d.Status > 499 {
			add("5xx-by-tenant", d.Tenant, 1)
		}
		if d.Method == "GET" || d.Method == "POST" {
			add("bytes-by-user", d.Tenant+","+d.User, d.Bytes)
		}
		add("requests-by-path", d.Method+","+d.Path, 1)
	}
	return out
}

func ruleReport(t testing.TB, env *storeEnv, rule string, w pipeline.Window) *contrib.Report {
	t.Helper()
	b := env.report(t, "report", rule, w)
	if b == nil {
		return nil
	}
	var r contrib.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// checkRule checks a global rule report against the truth: the exact metrics exactly, every
// listed contributor's true value within its stated bound, the distinct count within the
// HyperLogLog's error.
func checkRule(t *testing.T, label string, r *contrib.Report, tr *truth) {
	t.Helper()
	if r == nil {
		t.Fatalf("%s: no report", label)
	}
	dp := r.MetricDatapoints[0]
	if dp.SampleCount != tr.n || dp.Sum != tr.sum || r.AggregateValue != tr.sum ||
		*dp.Minimum != tr.min || *dp.Maximum != tr.max || *dp.Average != tr.sum/tr.n {
		t.Errorf("%s: metrics n=%v sum=%v min=%v max=%v avg=%v; want %v %v %v %v %v", label,
			dp.SampleCount, dp.Sum, *dp.Minimum, *dp.Maximum, *dp.Average, tr.n, tr.sum, tr.min, tr.max, tr.sum/tr.n)
	}
	for _, c := range r.Contributors {
		v := tr.byKey[strings.Join(c.Keys, ",")]
		if v > c.ApproximateAggregateValue || v < c.ApproximateAggregateValue-c.MaxError {
			t.Errorf("%s: contributor %v: true %v outside [%v − %v, %v]", label, c.Keys, v,
				c.ApproximateAggregateValue, c.MaxError, c.ApproximateAggregateValue)
		}
	}
	distinct := float64(len(tr.byKey))
	if got := float64(r.ApproximateUniqueCount); math.Abs(got-distinct) > 3*0.0081*distinct+1 {
		t.Errorf("%s: %v unique contributors, truly %v", label, got, distinct)
	}
}

// The same records as one partition and as eight give the same global answer: the exact
// metrics exactly, the sketches within their stated bounds.
func TestOnePartitionVersusEight(t *testing.T) {
	pr := newProducer(t, nil)
	events := dataset(2, 6000, 6)
	clk := &clock{now: win(1).End.Add(10 * time.Second)}
	run := func(n int) *storeEnv {
		env := fileEnv(t)
		env.write(t, pr.partials(t, events, n, 2), nil)
		drive(t, begin(t, newAgg(t, env, n, newPublished(t), clk, nil), 1))
		return env
	}
	one, eight := run(1), run(8)
	for w := range 2 {
		s1, s8 := summaryOf(t, one, win(w)), summaryOf(t, eight, win(w))
		if s1.Partitions != 1 || s8.Partitions != 8 || s1.Records != s8.Records || s1.Bytes != s8.Bytes ||
			s1.Records != recordsIn(events, w, nil) {
			t.Errorf("window %d: summaries %+v and %+v", w, s1, s8)
		}
		t1, t8 := throughputOf(t, one, win(w)), throughputOf(t, eight, win(w))
		if t1.Records != t8.Records || t1.Bytes != t8.Bytes || len(t8.Partitions) != 8 {
			t.Errorf("window %d: throughput %d/%d records, %d/%d bytes", w, t1.Records, t8.Records, t1.Bytes, t8.Bytes)
		}
		tr := exampleTruth(t, events, w, nil)
		for rule, want := range tr {
			r1, r8 := ruleReport(t, one, rule, win(w)), ruleReport(t, eight, rule, win(w))
			checkRule(t, fmt.Sprintf("window %d, %s, 1 partition", w, rule), r1, want)
			checkRule(t, fmt.Sprintf("window %d, %s, 8 partitions", w, rule), r8, want)
		}
		if len(tr["bytes-by-user"].byKey) <= 1000 {
			t.Fatalf("only %d (tenant, user) contributors: the sketch never evicts, so its bounds go untested",
				len(tr["bytes-by-user"].byKey))
		}
	}
}

// A partition that ran another configuration of a rule (a rolling deploy) is not mixed in:
// the rule's global report covers the others, and the fleet summary names it.
func TestConfigMismatchIsNeverMixed(t *testing.T) {
	env := fileEnv(t)
	events := dataset(1, 800, 7)
	parts := newProducer(t, nil).partials(t, events, 4, 1)
	changed := newProducer(t, func(r *contrib.Rule) {
		if r.Name == "5xx-by-tenant" {
			r.Filters[0].Number = 399
		}
	}).partials(t, events, 4, 1)
	p3 := ref{window: 0, p: pipeline.Partition{Stream: "events", ID: "3"}}
	parts[p3] = changed[p3]
	env.write(t, parts, nil)
	a := newAgg(t, env, 4, newPublished(t), &clock{now: win(0).End.Add(time.Minute)}, nil)
	drive(t, begin(t, a, 1))
	s := summaryOf(t, env, win(0))
	if len(s.ConfigMismatch) != 1 || s.ConfigMismatch[0].Operator != "contributors/5xx-by-tenant" ||
		!slices.Equal(s.ConfigMismatch[0].Partitions, []string{"events/3"}) || len(s.FailedOperators) != 0 {
		t.Fatalf("summary: %+v", s)
	}
	notP3 := func(e event) bool { return partitionOf(e, 4).ID != "3" }
	checkRule(t, "5xx without partition 3", ruleReport(t, env, "5xx-by-tenant", win(0)), exampleTruth(t, events, 0, notP3)["5xx-by-tenant"])
	checkRule(t, "other rules with every partition", ruleReport(t, env, "requests-by-path", win(0)), exampleTruth(t, events, 0, nil)["requests-by-path"])
	if got := testutil.ToFloat64(a.m.configMismatch.WithLabelValues("contributors/5xx-by-tenant")); got != 1 {
		t.Errorf("mismatches counted: %v", got)
	}
}

// An operator whose state of one partition cannot be decoded is left out of the window (its
// report and points), named in the fleet summary; the other operators are unaffected.
func TestBrokenStateFailsItsOperatorOnly(t *testing.T) {
	env := fileEnv(t)
	events := dataset(1, 400, 8)
	parts := newProducer(t, nil).partials(t, events, 4, 1)
	p2 := ref{window: 0, p: pipeline.Partition{Stream: "events", ID: "2"}}
	pt, err := pipeline.DecodePartial(parts[p2])
	if err != nil {
		t.Fatal(err)
	}
	for i := range pt.Ops {
		if pt.Ops[i].Name == "contributors/requests-by-path" {
			pt.Ops[i].State = []byte{0x93, 0x01, 0x02, 0x03} // an array of 3: not this rule's state
		}
	}
	if parts[p2], err = pipeline.EncodePartial(pt); err != nil {
		t.Fatal(err)
	}
	p1 := ref{window: 0, p: pipeline.Partition{Stream: "events", ID: "1"}}
	parts[p1] = []byte("not a partial")
	env.write(t, parts, nil)
	pub := newPublished(t)
	a := newAgg(t, env, 4, pub, &clock{now: win(0).End.Add(time.Minute)}, nil)
	drive(t, begin(t, a, 1))
	s := summaryOf(t, env, win(0))
	if len(s.FailedOperators) != 1 || s.FailedOperators[0].Name != "contributors/requests-by-path" ||
		!strings.Contains(s.FailedOperators[0].Error, "events/2") {
		t.Errorf("failed operators: %+v", s.FailedOperators)
	}
	if len(s.Invalid) != 1 || s.Invalid[0].Name != "events/1" || s.Partitions != 3 || len(s.Missing) != 0 {
		t.Errorf("invalid partials: %+v (partitions %d, missing %v)", s.Invalid, s.Partitions, s.Missing)
	}
	if r := ruleReport(t, env, "requests-by-path", win(0)); r != nil {
		t.Errorf("the failed rule's report was written half-merged: %+v", r)
	}
	notP1 := func(e event) bool { return partitionOf(e, 4).ID != "1" }
	checkRule(t, "a healthy rule", ruleReport(t, env, "5xx-by-tenant", win(0)), exampleTruth(t, events, 0, notP1)["5xx-by-tenant"])
	if pub.count(win(0)) != 1 {
		t.Fatal("the window was not published")
	}
	for _, p := range pub.outs[0].Points {
		if slices.Contains(p.Dimensions, pipeline.Dimension{Name: "RuleName", Value: "requests-by-path"}) {
			t.Errorf("a point of the failed rule was published: %+v", p)
		}
	}
	if got := testutil.ToFloat64(a.m.mergeErrors.WithLabelValues("contributors/requests-by-path")); got != 1 {
		t.Errorf("merge errors: %v", got)
	}
	if got := testutil.ToFloat64(a.m.invalid); got != 1 {
		t.Errorf("invalid partials counted: %v", got)
	}
}
