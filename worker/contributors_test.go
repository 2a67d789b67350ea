package worker

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weirstream/weir/pipeline/decode"
)

// A rule with RuleState DISABLED is loaded and checked like any other but gets no operator: it
// computes nothing, its fields are not decoded, and the log says so. A disabled rule that could
// not run on the stream is still refused at start.
func TestDisabledRuleComputesNothing(t *testing.T) {
	dir := t.TempDir()
	body := func(key, format string) string {
		return `{"Schema":{"Name":"CloudWatchLogRule","Version":1},"LogGroupNames":["*"],"LogFormat":"` + format +
			`","Contribution":{"Keys":["` + key + `"]},"AggregateOn":"Count"}`
	}
	rules := filepath.Join(dir, "rules.json")
	if err := os.WriteFile(rules, []byte(`[
		{"RuleName":"on","RuleBody":`+body("$.tenant", "JSON")+`},
		{"RuleName":"off","RuleState":"DISABLED","RuleBody":`+body("$.user", "JSON")+`}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	plan := decode.NewPlan(decode.JSON)
	ops, err := buildOperators(ContributorsConfig{Rules: []string{rules}}, plan, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, op := range ops {
		names = append(names, op.Name())
	}
	if strings.Join(names, ",") != "throughput,contributors/on" {
		t.Errorf("operators %v, want throughput and the enabled rule only", names)
	}
	if plan.Len() != 1 {
		t.Errorf("the plan decodes %d fields, want 1 (the enabled rule's key)", plan.Len())
	}
	if !strings.Contains(logs.String(), "rule=off") || !strings.Contains(logs.String(), "DISABLED") {
		t.Errorf("the disabled rule is not logged: %s", logs.String())
	}

	clf := filepath.Join(dir, "clf.json")
	if err := os.WriteFile(clf, []byte(`{"RuleName":"clf-off","RuleState":"DISABLED","RuleBody":`+body("1", "CLF")+`}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = buildOperators(ContributorsConfig{Rules: []string{clf}}, decode.NewPlan(decode.JSON), nil, log)
	if err == nil || !strings.Contains(err.Error(), `rule "clf-off"`) {
		t.Errorf("a disabled CLF rule on a JSON stream: %v, want an error naming the rule", err)
	}
}
