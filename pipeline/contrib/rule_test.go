package contrib

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
)

// run evaluates a rule over events (payloads in the plan's format) in one state and returns
// the report.
func run(t testing.TB, r *Rule, f decode.Format, opts Options, events ...string) Report {
	t.Helper()
	plan := decode.NewPlan(f)
	op, err := New(r, plan, opts)
	if err != nil {
		t.Fatal(err)
	}
	dec := plan.NewDecoder()
	vals := make([]decode.Value, plan.Len())
	st := op.NewState(pipeline.Partition{Stream: "s", ID: "0"}).(*State)
	for _, e := range events {
		if err := dec.Decode([]byte(e), vals); err != nil {
			t.Fatalf("decode %q: %v", e, err)
		}
		st.Observe(&pipeline.Record{}, vals)
	}
	return st.Report(testWindow)
}

var testWindow = pipeline.Window{Start: time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 21, 13, 1, 0, 0, time.UTC)}

// top renders a report's contributors as "k1|k2=value" for comparison.
func top(r Report) []string {
	var out []string
	for _, c := range r.Contributors {
		out = append(out, fmt.Sprintf("%s=%g", strings.Join(c.Keys, "|"), c.ApproximateAggregateValue))
	}
	return out
}

func mustRule(t testing.TB, name, def string) *Rule {
	t.Helper()
	r, err := ParseRule(name, []byte(def))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestDocumentedRulesLoad loads every rule of the CloudWatch documentation unchanged and runs
// it on events of the shape it is written for.
func TestDocumentedRulesLoad(t *testing.T) {
	flow := func(iface, src, dst, dport, proto, packets, bytes, action string) string {
		return strings.Join([]string{"2", "123456789010", iface, src, dst, "49152", dport, proto, packets, bytes, "1418530010", "1418530070", action, "OK"}, " ")
	}
	flows := []string{
		flow("eni-a", "10.0.0.1", "10.0.0.9", "443", "6", "10", "4000", "ACCEPT"),
		flow("eni-a", "10.0.0.1", "10.0.0.9", "443", "6", "5", "1000", "ACCEPT"),
		flow("eni-a", "10.0.0.2", "10.0.0.8", "22", "6", "7", "700", "REJECT"),
		flow("eni-b", "10.0.0.2", "10.0.0.8", "443", "17", "1", "100", "REJECT"),
		flow("eni-a", "10.0.0.2", "10.0.0.8", "22", "6", "3", "300", "REJECT"),
	}
	route53 := []string{
		`{"srcaddr":"10.1.1.1","query_name":"a.example.","query_type":"A","rcode":"NXDOMAIN"}`,
		`{"srcaddr":"10.1.1.1","query_name":"b.example.","query_type":"AAAA","rcode":"NOERROR"}`,
		`{"srcaddr":"10.1.1.2","query_name":"a.example.","query_type":"A","rcode":"NXDOMAIN"}`,
		`{"srcaddr":"10.1.1.1","query_name":"a.example.","query_type":"A","rcode":"NXDOMAIN"}`,
	}
	apigw := []string{
		`{"ip":"1.1.1.1","httpMethod":"PUT","requestBytes":100}`,
		`{"ip":"1.1.1.1","httpMethod":"GET","requestBytes":999}`,
		`{"ip":"2.2.2.2","httpMethod":"PUT","requestBytes":"250"}`,
		`{"ip":"1.1.1.1","httpMethod":"PUT","requestBytes":50}`,
		`{"ip":"3.3.3.3","httpMethod":"put","requestBytes":1}`,
	}
	clf := []string{
		// API Gateway CLF-like lines where position 4 is the client and 7 the status.
		`a b c 1.1.1.1 [21/Nov/2026:13:00:00 +0000] "GET / HTTP/1.1" 200`,
		`a b c 1.1.1.1 [21/Nov/2026:13:00:01 +0000] "GET / HTTP/1.1" 200`,
		`a b c 2.2.2.2 [21/Nov/2026:13:00:02 +0000] "GET / HTTP/1.1" 500`,
		`a b c 3.3.3.3 [21/Nov/2026:13:00:03 +0000] "GET / HTTP/1.1" 200`,
	}
	cases := []struct {
		file   string
		format decode.Format
		events []string
		want   []string
		stat   string
	}{
		{"syntax-json.json", decode.JSON, apigw, []string{"2.2.2.2=250", "1.1.1.1=150"}, "Sum"},
		{"syntax-clf.json", decode.CLF, clf, []string{"1.1.1.1=2", "3.3.3.3=1"}, "Count"},
		{"vpc-bytes-by-src-dst.json", decode.CLF, flows, []string{"10.0.0.1|10.0.0.9=5000", "10.0.0.2|10.0.0.8=1100"}, "Sum"},
		{"vpc-https-requests.json", decode.CLF, flows, []string{"10.0.0.9=15", "10.0.0.8=1"}, "Sum"},
		{"vpc-rejected-tcp.json", decode.CLF, flows, []string{"eni-a|10.0.0.2=2"}, "Sum"},
		{"route53-nxdomain-by-source.json", decode.JSON, route53, []string{"10.1.1.1=2", "10.1.1.2=1"}, "Count"},
		{"route53-queries-by-domain.json", decode.JSON, route53, []string{"a.example.=3", "b.example.=1"}, "Count"},
		{"route53-queries-by-type-and-source.json", decode.JSON, route53, []string{"A|10.1.1.1=2", "A|10.1.1.2=1", "AAAA|10.1.1.1=1"}, "Count"},
	}
	files, _ := filepath.Glob("testdata/docs/*.json")
	if len(files) != len(cases) {
		t.Fatalf("%d fixtures, %d cases: every documented rule needs a case", len(files), len(cases))
	}
	for _, tc := range cases {
		rules, err := LoadFile(filepath.Join("testdata/docs", tc.file))
		if err != nil {
			t.Errorf("%s: %v", tc.file, err)
			continue
		}
		r := rules[0]
		if r.Name != strings.TrimSuffix(tc.file, ".json") {
			t.Errorf("%s: name %q", tc.file, r.Name)
		}
		rep := run(t, r, tc.format, Options{}, tc.events...)
		if got := top(rep); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: top %v, want %v", tc.file, got, tc.want)
		}
		if rep.AggregationStatistic != tc.stat || !reflect.DeepEqual(rep.KeyLabels, r.Keys) {
			t.Errorf("%s: statistic %q labels %v", tc.file, rep.AggregationStatistic, rep.KeyLabels)
		}
		for _, c := range rep.Contributors {
			if c.MaxError != 0 {
				t.Errorf("%s: MaxError %v on a sketch that never evicted", tc.file, c.MaxError)
			}
		}
	}
}

// The filter snippets of the rule-syntax page (the first one carries a trailing comma there,
// which no JSON parser, CloudWatch's included, accepts; it is tested without it).
func TestDocumentedFilters(t *testing.T) {
	cases := []struct {
		filter string
		match  []string
		miss   []string
	}{
		{`{"Match": "$.httpMethod", "In": [ "PUT" ] }`, []string{`{"httpMethod":"PUT"}`}, []string{`{"httpMethod":"put"}`, `{}`}},
		{`{"Match": "$.StatusCode", "EqualTo": 200 }`, []string{`{"StatusCode":200}`, `{"StatusCode":"200"}`, `{"StatusCode":200.0}`}, []string{`{"StatusCode":201}`, `{"StatusCode":"OK"}`}},
		{`{"Match": "$.BytesReceived", "GreaterThan": 10000}`, []string{`{"BytesReceived":10001}`}, []string{`{"BytesReceived":10000}`, `{}`}},
		{`{"Match": "$.eventSource", "StartsWith": [ "ec2", "ecs" ] }`, []string{`{"eventSource":"ec2.amazonaws.com"}`, `{"eventSource":"ecs.amazonaws.com"}`}, []string{`{"eventSource":"s3.amazonaws.com"}`}},
	}
	for _, tc := range cases {
		def := `{"Schema":{"Name":"CloudWatchLogRule","Version":1},"LogGroupNames":["g"],"LogFormat":"JSON",
			"Contribution":{"Keys":["$.k"],"Filters":[` + tc.filter + `]},"AggregateOn":"Count"}`
		r := mustRule(t, "f", def)
		for _, ev := range tc.match {
			ev = strings.Replace(ev, "{", `{"k":"x",`, 1)
			ev = strings.Replace(ev, ",}", "}", 1)
			if rep := run(t, r, decode.JSON, Options{}, ev); len(rep.Contributors) != 1 {
				t.Errorf("%s should match %s", tc.filter, ev)
			}
		}
		for _, ev := range tc.miss {
			ev = strings.Replace(ev, "{", `{"k":"x",`, 1)
			ev = strings.Replace(ev, ",}", "}", 1)
			if rep := run(t, r, decode.JSON, Options{}, ev); len(rep.Contributors) != 0 {
				t.Errorf("%s should not match %s", tc.filter, ev)
			}
		}
	}
}

func TestFilterSemantics(t *testing.T) {
	type c struct {
		filter, event string
		want          bool
	}
	cases := []c{
		{`"NotIn":["a"]`, `{"f":"b"}`, true},
		{`"NotIn":["a"]`, `{"f":"a"}`, false},
		{`"NotIn":["a"]`, `{}`, false}, // missing fails everything but IsPresent false
		{`"NotEqualTo":5`, `{}`, false},
		{`"NotEqualTo":5`, `{"f":"abc"}`, false}, // not numeric
		{`"NotEqualTo":5`, `{"f":6}`, true},
		{`"LessThan":0`, `{"f":-1.5}`, true},
		{`"LessThan":0`, `{"f":"-1.5"}`, true},
		{`"In":["200"]`, `{"f":200}`, true}, // numbers compare as written
		{`"In":[200]`, `{"f":"200"}`, true},
		{`"In":["2e2"]`, `{"f":200}`, false},
		{`"StartsWith":["5"]`, `{"f":503}`, true},
		{`"StartsWith":["tr"]`, `{"f":true}`, true},
		{`"In":["null"]`, `{"f":null}`, false},
		{`"In":["x"]`, `{"f":{"a":"x"}}`, false},
		{`"IsPresent":true`, `{"f":null}`, true},
		{`"IsPresent":true`, `{"g":1}`, false},
		{`"IsPresent":false`, `{"g":1}`, true},
		{`"IsPresent":false`, `{"f":{"c1":1}}`, false},
		{`"In":["Put"]`, `{"f":"PUT"}`, false}, // case sensitive
		{`"In":["é"]`, `{"f":"\u00e9"}`, true},
		{`"EqualTo":0.1`, `{"f":0.1}`, true},
	}
	for _, tc := range cases {
		def := `{"Schema":{"Name":"CloudWatchLogRule","Version":1},"LogGroupNames":["g"],"LogFormat":"JSON",
			"Contribution":{"Keys":["$.k"],"Filters":[{"Match":"$.f",` + tc.filter + `}]},"AggregateOn":"Count"}`
		if strings.Contains(def, "é") {
			def = strings.ReplaceAll(def, "é", `\u00e9`)
		}
		r := mustRule(t, "f", def)
		ev := `{"k":"x",` + strings.TrimPrefix(tc.event, "{")
		ev = strings.Replace(ev, ",}", "}", 1)
		got := len(run(t, r, decode.JSON, Options{}, ev).Contributors) == 1
		if got != tc.want {
			t.Errorf("filter {%s} on %s: %v, want %v", tc.filter, tc.event, got, tc.want)
		}
	}
}

func TestKeySemantics(t *testing.T) {
	r := mustRule(t, "k", `{"Schema":{"Name":"CloudWatchLogRule","Version":1},"LogGroupNames":["g"],"LogFormat":"JSON",
		"Contribution":{"Keys":["$.a","$.b"],"ValueOf":"$.v"},"AggregateOn":"Sum"}`)
	long := strings.Repeat("x", MaxKeyValueBytes+10)
	rep := run(t, r, decode.JSON, Options{},
		`{"a":"x","b":1,"v":2}`,
		`{"a":"x","b":1,"v":"3"}`,      // numeric string counts
		`{"a":"x","b":1,"v":"n/a"}`,    // not numeric: skipped
		`{"a":"x","v":5}`,              // key missing: skipped
		`{"a":"x","b":null,"v":5}`,     // null key: skipped
		`{"a":"x","b":[1],"v":5}`,      // array key: skipped
		`{"a":"x","b":true,"v":1}`,     // bool key
		`{"a":"`+long+`","b":1,"v":1}`, // truncated to 1 KB
		`{"a":"`+long+`y","b":1,"v":1}`,
	)
	want := []string{"x|1=5", strings.Repeat("x", MaxKeyValueBytes) + "|1=2", "x|true=1"}
	if got := top(rep); !reflect.DeepEqual(got, want) {
		t.Fatalf("top %v, want %v", got, want)
	}
	dp := rep.MetricDatapoints[0]
	if dp.SampleCount != 5 || dp.Sum != 8 || *dp.Minimum != 1 || *dp.Maximum != 3 || *dp.Average != 1.6 ||
		dp.UniqueContributors != 3 || dp.MaxContributorValue != 5 || rep.AggregateValue != 8 || rep.ApproximateUniqueCount != 3 {
		t.Fatalf("metrics %+v", dp)
	}
}

func TestParseRuleErrors(t *testing.T) {
	base := func(mut func(m map[string]string)) string {
		m := map[string]string{
			"Schema":        `{"Name":"CloudWatchLogRule","Version":1}`,
			"LogGroupNames": `["g"]`,
			"LogFormat":     `"JSON"`,
			"Contribution":  `{"Keys":["$.a"]}`,
			"AggregateOn":   `"Count"`,
		}
		mut(m)
		var parts []string
		for k, v := range m {
			parts = append(parts, fmt.Sprintf("%q:%s", k, v))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	set := func(k, v string) func(map[string]string) { return func(m map[string]string) { m[k] = v } }
	del := func(k string) func(map[string]string) { return func(m map[string]string) { delete(m, k) } }
	vals := func(n int) string {
		var s []string
		for i := range n {
			s = append(s, fmt.Sprintf(`"v%d"`, i))
		}
		return strings.Join(s, ",")
	}
	cases := []struct {
		name, def, want string
	}{
		{"ok", base(func(map[string]string) {}), ""},
		{"", base(func(map[string]string) {}), "name: must be 1 to 128"},
		{strings.Repeat("n", 129), base(func(map[string]string) {}), "name: must be 1 to 128"},
		{"tab\tname", base(func(map[string]string) {}), "not printable ASCII"},
		{"r", base(set("Schema", `{"Name":"CloudWatchLogRule","Version":2}`)), "Schema"},
		{"r", base(del("Schema")), "Schema"},
		{"r", base(del("LogGroupNames")), "LogGroupNames: at least one"},
		{"r", base(set("LogGroupNames", `["a*b"]`)), "LogGroupNames[0]"},
		{"r", base(set("LogGroupARNs", `["arn:aws:logs:us-east-1:1:log-group:x"]`)), "LogGroupARNs: not supported"},
		{"r", base(set("LogFormat", `"json"`)), "LogFormat: \"json\": want JSON or CLF"},
		{"r", base(set("AggregateOn", `"count"`)), "AggregateOn"},
		{"r", base(del("Contribution")), "Contribution: required"},
		{"r", base(set("Contribution", `{"Keys":[]}`)), "Contribution.Keys: 0 keys"},
		{"r", base(set("Contribution", `{"Keys":["$.a","$.b","$.c","$.d","$.e"]}`)), "Contribution.Keys: 5 keys"},
		{"r", base(set("Contribution", `{"Keys":["$.a","a.b"]}`)), "Contribution.Keys[1]"},
		{"r", base(func(m map[string]string) {
			m["Contribution"], m["AggregateOn"] = `{"Keys":["$.a"],"ValueOf":"$."}`, `"Sum"`
		}), "Contribution.ValueOf"},
		{"r", base(set("Contribution", `{"Keys":["$.a"],"ValueOf":"$.bytes"}`)), `Contribution.ValueOf: "$.bytes" is used only with AggregateOn Sum`},
		{"r", base(set("Contribution", `{"Keys":["$.a"],"Filters":[{"Match":"$.a","In":["x"]},{"Match":"$.a","In":["x"]},{"Match":"$.a","In":["x"]},{"Match":"$.a","In":["x"]},{"Match":"$.a","In":["x"]}]}`)), "Contribution.Filters: 5 filters"},
		{"r", base(set("Contribution", `{"Keys":["$.a"],"Filters":[{"Match":"$.a","In":[`+vals(11)+`]}]}`)), "Contribution.Filters[0]: In: 11 values"},
		{"r", base(set("Contribution", `{"Keys":["$.a"],"Filters":[{"Match":"$.a","In":[]}]}`)), "In: 0 values"},
		{"r", base(set("Contribution", `{"Keys":["$.a"],"Filters":[{"Match":"$.a","EqualTo":"200"}]}`)), "EqualTo: want a number"},
		{"r", base(set("Contribution", `{"Keys":["$.a"],"Filters":[{"Match":"$.a","IsPresent":"yes"}]}`)), "IsPresent: want true or false"},
		{"r", base(set("Contribution", `{"Keys":["$.a"],"Filters":[{"Match":"$.a","Contains":["x"]}]}`)), "unknown operator \"Contains\""},
		{"r", base(set("Contribution", `{"Keys":["$.a"],"Filters":[{"Match":"$.a","In":["x"],"NotIn":["y"]}]}`)), "exactly one operator"},
		{"r", base(set("Contribution", `{"Keys":["$.a"],"Filters":[{"In":["x"]}]}`)), "filter has no Match field"},
		{"r", base(set("Contribution", `{"Keys":["$.a"],"Filter":[]}`)), "unknown field \"Filter\""},
		{"r", base(set("Fields", `{"1":"a"}`)), "Fields: applies only to LogFormat CLF"},
		{"r", base(func(m map[string]string) { m["LogFormat"] = `"CLF"`; m["Fields"] = `{"0":"a"}` }), "not a 1-based field position"},
		{"r", base(func(m map[string]string) {
			m["LogFormat"] = `"CLF"`
			m["Fields"] = `{"1":"a"}`
			m["Contribution"] = `{"Keys":["b"]}`
		}), "neither a name from Fields"},
		{"r", base(set("Contribution", `{"Keys":["$.caf\u00e9"]}`)) + "", ""},
		{"r", strings.Replace(base(func(map[string]string) {}), `"g"`, `"gé"`, 1), "non-ASCII"},
		{"r", base(set("LogGroupNames", `["`+strings.Repeat("g", MaxRuleBytes)+`"]`)), "8192"},
		{"r", `{"Schema":{"Name":"CloudWatchLogRule","Version":1}} {}`, "data after"},
	}
	for _, tc := range cases {
		_, err := ParseRule(tc.name, []byte(tc.def))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.def, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%.80q: error %v, want %q", tc.def, err, tc.want)
		case err != nil && !strings.Contains(err.Error(), fmt.Sprintf("rule %q", tc.name)):
			t.Errorf("error %q does not name the rule", err)
		}
	}
}

func TestLogGroupNames(t *testing.T) {
	r := mustRule(t, "r", `{"Schema":{"Name":"CloudWatchLogRule","Version":1},"LogGroupNames":["access-*","audit"],
		"LogFormat":"JSON","Contribution":{"Keys":["$.a"]},"AggregateOn":"Count"}`)
	for stream, want := range map[string]bool{"access-eu": true, "access-": true, "access": false, "audit": true, "audit-2": false, "Access-eu": false} {
		if r.Matches(stream) != want {
			t.Errorf("Matches(%q) = %v", stream, !want)
		}
	}
}

func TestFormatMismatch(t *testing.T) {
	j := mustRule(t, "j", `{"Schema":{"Name":"CloudWatchLogRule","Version":1},"LogGroupNames":["g"],"LogFormat":"JSON","Contribution":{"Keys":["$.a"]},"AggregateOn":"Count"}`)
	c := mustRule(t, "c", `{"Schema":{"Name":"CloudWatchLogRule","Version":1},"LogGroupNames":["g"],"LogFormat":"CLF","Contribution":{"Keys":["1"]},"AggregateOn":"Count"}`)
	for _, tc := range []struct {
		r  *Rule
		f  decode.Format
		ok bool
	}{{j, decode.JSON, true}, {j, decode.Msgpack, true}, {j, decode.CLF, false}, {c, decode.CLF, true}, {c, decode.JSON, false}, {c, decode.Msgpack, false}} {
		_, err := New(tc.r, decode.NewPlan(tc.f), Options{})
		if (err == nil) != tc.ok {
			t.Errorf("rule %s on %v: %v", tc.r.Name, tc.f, err)
		}
		if err != nil && !strings.Contains(err.Error(), `rule "`+tc.r.Name+`"`) {
			t.Errorf("error does not name the rule: %v", err)
		}
	}
}

func TestLoadFileForms(t *testing.T) {
	dir := t.TempDir()
	body := `{"Schema":{"Name":"CloudWatchLogRule","Version":1},"LogGroupNames":["g"],"LogFormat":"JSON","Contribution":{"Keys":["$.a"]},"AggregateOn":"Count"}`
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bare := write("by-tenant.json", body)
	named := write("x.json", `{"RuleName":"Named","RuleBody":`+body+`}`)
	str := write("y.json", `{"RuleName":"AsString","RuleDefinition":`+fmt.Sprintf("%q", body)+`}`)
	list := write("list.json", `[{"RuleName":"one","RuleBody":`+body+`},{"RuleName":"two","RuleBody":`+body+`}]`)
	dup := write("dup.json", `[{"RuleName":"one","RuleBody":`+body+`},{"RuleName":"one","RuleBody":`+body+`}]`)
	rules, err := LoadFiles([]string{bare, named, str, list})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rules {
		names = append(names, r.Name)
	}
	if !reflect.DeepEqual(names, []string{"by-tenant", "Named", "AsString", "one", "two"}) {
		t.Fatalf("names %v", names)
	}
	if _, err := LoadFile(dup); err == nil || !strings.Contains(err.Error(), `two rules are named "one"`) {
		t.Fatalf("duplicate names: %v", err)
	}
	if _, err := LoadFiles([]string{list, list}); err == nil {
		t.Fatal("duplicate names across files accepted")
	}
}

// RuleState, carried by the named forms, is ENABLED (the default) or DISABLED; anything else is
// refused with the rule and the field named, as CloudWatch's API refuses it.
func TestRuleState(t *testing.T) {
	dir := t.TempDir()
	body := `{"Schema":{"Name":"CloudWatchLogRule","Version":1},"LogGroupNames":["g"],"LogFormat":"JSON","Contribution":{"Keys":["$.a"]},"AggregateOn":"Count"}`
	for _, tc := range []struct {
		state    string // "-": no RuleState member
		disabled bool
		err      string
	}{
		{"-", false, ""},
		{"ENABLED", false, ""},
		{"DISABLED", true, ""},
		{"BOGUS", false, `rule "r": RuleState: "BOGUS": want ENABLED or DISABLED`},
		{"disabled", false, `rule "r": RuleState: "disabled"`},
	} {
		state := ""
		if tc.state != "-" {
			state = fmt.Sprintf(`,"RuleState":%q`, tc.state)
		}
		p := filepath.Join(dir, "r.json")
		if err := os.WriteFile(p, []byte(`{"RuleName":"r","RuleBody":`+body+state+`}`), 0o644); err != nil {
			t.Fatal(err)
		}
		rules, err := LoadFile(p)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("RuleState %s: error %v, want %q", tc.state, err, tc.err)
			}
		case err != nil:
			t.Errorf("RuleState %s: %v", tc.state, err)
		case rules[0].Disabled != tc.disabled:
			t.Errorf("RuleState %s: Disabled %v, want %v", tc.state, rules[0].Disabled, tc.disabled)
		}
	}
	// A disabled rule is still validated: a broken body is an error, not silently skipped.
	p := filepath.Join(dir, "broken.json")
	if err := os.WriteFile(p, []byte(`{"RuleName":"broken","RuleState":"DISABLED","RuleBody":{"Schema":{"Name":"CloudWatchLogRule","Version":1}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(p); err == nil || !strings.Contains(err.Error(), `rule "broken"`) {
		t.Errorf("a broken disabled rule: %v", err)
	}
}
