package demo

import "fmt"

// RuleName is the name of the demo's contributor rule.
const RuleName = "5xx-by-tenant"

// Rule returns the body of the contributor rule the demo's traffic is scripted for, in
// CloudWatch Contributor Insights syntax, reading topic: the 5xx responses by tenant, in which
// the bursting tenant (t-0003) stands out and gets its own anomaly series. The worker runs it
// when the source is the demo and no rules are configured, so that `make run` shows all three
// scripted anomalies (examples/rules/5xx-by-tenant.json is the same rule as a file). It is
// returned as JSON rather than parsed, so that this package stays below pipeline/contrib, whose
// benchmarks use the demo's events.
func Rule(topic string) []byte {
	return fmt.Appendf(nil, `{
  "Schema": {"Name": "CloudWatchLogRule", "Version": 1},
  "LogGroupNames": [%q],
  "LogFormat": "JSON",
  "Contribution": {
    "Keys": ["$.tenant"],
    "Filters": [{"Match": "$.status", "GreaterThan": 499}]
  },
  "AggregateOn": "Count"
}`, topic)
}
