package contrib

import (
	"strings"
	"testing"

	"github.com/weirstream/weir/pipeline/decode"
)

// The fingerprint changes with everything that changes what a state means or whether states
// merge, and with nothing else.
func TestConfigFingerprint(t *testing.T) {
	const base = `{"Schema": {"Name": "CloudWatchLogRule", "Version": 1}, "LogGroupNames": ["events*"],
		"LogFormat": "JSON", "Contribution": {"Keys": ["$.tenant"], "ValueOf": "$.bytes",
		"Filters": [{"Match": "$.status", "GreaterThan": 499}]}, "AggregateOn": "Sum"}`
	fp := func(name, def string, opts Options) string {
		t.Helper()
		op, err := New(mustRule(t, name, def), decode.NewPlan(decode.JSON), opts)
		if err != nil {
			t.Fatal(err)
		}
		return op.ConfigFingerprint()
	}
	ref := fp("r", base, Options{})
	if len(ref) != 16 || ref != fp("r", base, Options{}) {
		t.Fatalf("fingerprint %q is not a stable 16-digit hash", ref)
	}
	for _, c := range []struct {
		name string
		rule string
		def  string
		opts Options
		same bool
	}{
		{"the same rule, reformatted", "r", strings.ReplaceAll(base, "\n\t\t", " "), Options{}, true},
		{"contributor points", "r", base, Options{ContributorPoints: 5}, true},
		{"a top n that sizes the same sketch", "r", base, Options{TopN: 20}, true},
		{"another name", "s", base, Options{}, false},
		{"another filter bound", "r", strings.Replace(base, "499", "399", 1), Options{}, false},
		{"another filter operator", "r", strings.Replace(base, "GreaterThan", "LessThan", 1), Options{}, false},
		{"another key", "r", strings.Replace(base, "$.tenant", "$.user", 1), Options{}, false},
		{"another value", "r", strings.Replace(base, "$.bytes", "$.size", 1), Options{}, false},
		{"another aggregation", "r", strings.Replace(strings.Replace(base, `"Sum"`, `"Count"`, 1), `"ValueOf": "$.bytes",`, "", 1), Options{}, false},
		{"other streams", "r", strings.Replace(base, "events*", "orders", 1), Options{}, false},
		{"a top n that sizes another sketch", "r", base, Options{TopN: 500}, false},
		{"another target error", "r", base, Options{TargetError: 0.0001}, false},
		{"another distinct counter", "r", base, Options{HLLPrecision: 12}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := fp(c.rule, c.def, c.opts); (got == ref) != c.same {
				t.Errorf("fingerprint %s vs %s: same = %v, want %v", got, ref, got == ref, c.same)
			}
		})
	}
}
