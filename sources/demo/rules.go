package demo

import (
	"fmt"

	"github.com/weirstream/weir/pipeline/contrib"
)

// Rules returns the contributor rule the demo's traffic is scripted for, in CloudWatch
// Contributor Insights syntax, reading topic: the 5xx responses by tenant, in which the
// bursting tenant (t-0003) stands out and gets its own anomaly series. The worker runs it when
// the source is the demo and no rules are configured, so that `make run` shows all three
// scripted anomalies (examples/rules/5xx-by-tenant.json is the same rule as a file).
func Rules(topic string) ([]*contrib.Rule, error) {
	body := fmt.Sprintf(`{
  "Schema": {"Name": "CloudWatchLogRule", "Version": 1},
  "LogGroupNames": [%q],
  "LogFormat": "JSON",
  "Contribution": {
    "Keys": ["$.tenant"],
    "Filters": [{"Match": "$.status", "GreaterThan": 499}]
  },
  "AggregateOn": "Count"
}`, topic)
	r, err := contrib.ParseRule("5xx-by-tenant", []byte(body))
	if err != nil {
		return nil, fmt.Errorf("demo: the built-in rule: %w", err)
	}
	return []*contrib.Rule{r}, nil
}
