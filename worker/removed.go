package worker

import (
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// removedField is a configuration field weir had and took out, and what to tell a user whose
// configuration still sets it. Without it the YAML decoder's "field archive not found" and the
// environment's "names no configuration field" would read like a typo in a field that exists.
type removedField struct {
	path string // YAML path; anything under it is refused too
	why  string
}

func removedFields() []removedField {
	return []removedField{
		{"sinks.s3.archive", "removed: weir no longer archives raw records; delete this setting " +
			"(Amazon Data Firehose archives a Kinesis stream or an MSK topic to S3)"},
		{"anomaly.state_dir", "removed: the anomaly detectors run in the fleet's aggregator, and their state travels " +
			"in its state object (kind=state/name=aggregator.msgpack, beside the partials); delete this setting"},
	}
}

// checkRemoved refuses a YAML document or WEIR_ variables that set a removed field or anything
// under it, naming the field.
func checkRemoved(data []byte, environ []string) error {
	var doc map[string]any
	_ = yaml.Unmarshal(data, &doc) // a malformed document fails the real decode, with its message
	var errs []error
	for _, f := range removedFields() {
		if hasPath(doc, strings.Split(f.path, ".")) {
			errs = append(errs, fmt.Errorf("%s: %s", f.path, f.why))
		}
		env := "WEIR_" + strings.ToUpper(strings.ReplaceAll(f.path, ".", "_"))
		for _, kv := range environ {
			name, _, _ := strings.Cut(kv, "=")
			if name == env || strings.HasPrefix(name, env+"_") {
				errs = append(errs, fmt.Errorf("%s (environment %s): %s", f.path, name, f.why))
			}
		}
	}
	return errors.Join(errs...)
}

func hasPath(doc map[string]any, path []string) bool {
	v, ok := doc[path[0]]
	if !ok || len(path) == 1 {
		return ok
	}
	sub, ok := v.(map[string]any)
	return ok && hasPath(sub, path[1:])
}
