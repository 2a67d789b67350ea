// Package contrib evaluates CloudWatch Contributor Insights rules on the stream: per window,
// the top contributors of each rule with error bounds, the approximate number of distinct
// contributors, and the rule metrics CloudWatch offers through INSIGHT_RULE_METRIC.
//
// Rules are written exactly as for CloudWatch
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/ContributorInsights-RuleSyntax.html);
// the semantics the documentation leaves open are settled in filter.go and operator.go.
package contrib

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/weirstream/weir/pipeline/decode"
)

// CloudWatch's limits (PutInsightRule and the rule-syntax page).
const (
	MaxRuleBytes   = 8192
	MaxNameLen     = 128
	MaxKeys        = 4
	MaxFilters     = 4
	MaxFilterValue = 10
	// MaxKeyValueBytes: longer key values are truncated (at a UTF-8 boundary).
	MaxKeyValueBytes = 1024
)

// Rule is one parsed and validated Contributor Insights rule.
type Rule struct {
	Name          string
	LogGroupNames []string
	// Format is decode.JSON or decode.CLF (the rule's LogFormat).
	Format decode.Format
	// Fields maps CLF aliases to 1-based positions.
	Fields map[string]int
	// Keys, ValueOf and each filter's Match as written in the rule.
	Keys        []string
	ValueOf     string
	Filters     []Filter
	AggregateOn string // "Count" or "Sum"
	// Disabled is RuleState DISABLED (only the named forms carry a RuleState, see LoadFile):
	// the rule is parsed and validated like any other, but the worker builds no operator for
	// it, so it computes and publishes nothing, as a disabled rule in CloudWatch collects no
	// data. Flipping the state back needs no other change to the file.
	Disabled bool
}

// Rule states (PutInsightRule's RuleState; case sensitive, as CloudWatch's API takes them).
const (
	StateEnabled  = "ENABLED"
	StateDisabled = "DISABLED"
)

// body mirrors the rule JSON. Unknown members are rejected, so a misspelt "Filter" does not
// silently match everything.
type body struct {
	Schema *struct {
		Name    string `json:"Name"`
		Version *int   `json:"Version"`
	} `json:"Schema"`
	LogGroupNames []string          `json:"LogGroupNames"`
	LogGroupARNs  []string          `json:"LogGroupARNs"`
	LogFormat     string            `json:"LogFormat"`
	Fields        map[string]string `json:"Fields"`
	Contribution  *struct {
		Keys    []string          `json:"Keys"`
		ValueOf string            `json:"ValueOf"`
		Filters []json.RawMessage `json:"Filters"`
	} `json:"Contribution"`
	AggregateOn string `json:"AggregateOn"`
}

// ParseRule parses and validates one rule body (the JSON CloudWatch takes as the rule
// definition). Errors name the rule and the field.
func ParseRule(name string, def []byte) (*Rule, error) {
	fail := func(field, format string, args ...any) (*Rule, error) {
		return nil, fmt.Errorf("rule %q: %s: %s", name, field, fmt.Sprintf(format, args...))
	}
	if len(name) < 1 || len(name) > MaxNameLen {
		return fail("name", "must be 1 to %d characters, is %d", MaxNameLen, len(name))
	}
	for i := 0; i < len(name); i++ {
		if name[i] < 0x20 || name[i] > 0x7e {
			return fail("name", "character %q at %d is not printable ASCII", name[i], i)
		}
	}
	if len(def) > MaxRuleBytes {
		return fail("definition", "%d characters, CloudWatch's limit is %d", len(def), MaxRuleBytes)
	}
	for i, c := range def {
		if c > 0x7f {
			return fail("definition", "non-ASCII byte at offset %d (CloudWatch accepts ASCII only; use \\u escapes)", i)
		}
	}
	var b body
	dec := json.NewDecoder(bytes.NewReader(def))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return fail("definition", "%v", err)
	}
	if dec.More() {
		return fail("definition", "data after the rule object")
	}
	if b.Schema == nil || b.Schema.Name != "CloudWatchLogRule" || b.Schema.Version == nil || *b.Schema.Version != 1 {
		return fail("Schema", `must be {"Name": "CloudWatchLogRule", "Version": 1}`)
	}
	r := &Rule{Name: name, AggregateOn: b.AggregateOn}
	if len(b.LogGroupARNs) > 0 {
		return fail("LogGroupARNs", "not supported: name the streams in LogGroupNames")
	}
	if len(b.LogGroupNames) == 0 {
		return fail("LogGroupNames", "at least one stream name (or prefix*) is required")
	}
	for i, g := range b.LogGroupNames {
		if g == "" || strings.Contains(strings.TrimSuffix(g, "*"), "*") {
			return fail(fmt.Sprintf("LogGroupNames[%d]", i), "%q: a name, optionally ending in one *", g)
		}
	}
	r.LogGroupNames = b.LogGroupNames
	switch b.LogFormat {
	case "JSON":
		r.Format = decode.JSON
		if len(b.Fields) > 0 {
			return fail("Fields", "applies only to LogFormat CLF")
		}
	case "CLF":
		r.Format = decode.CLF
		r.Fields = map[string]int{}
		for pos, alias := range b.Fields {
			n, err := strconv.Atoi(pos)
			if err != nil || n < 1 || n > decode.MaxCLFPosition || strconv.Itoa(n) != pos {
				return fail("Fields", "key %q is not a 1-based field position", pos)
			}
			if alias == "" {
				return fail("Fields", "position %s has an empty name", pos)
			}
			if _, dup := r.Fields[alias]; dup {
				return fail("Fields", "name %q is given to two positions", alias)
			}
			r.Fields[alias] = n
		}
	case "":
		return fail("LogFormat", "required (JSON or CLF)")
	default:
		return fail("LogFormat", "%q: want JSON or CLF (case sensitive)", b.LogFormat)
	}
	switch b.AggregateOn {
	case "Count", "Sum":
	case "":
		return fail("AggregateOn", "required (Count or Sum)")
	default:
		return fail("AggregateOn", "%q: want Count or Sum (case sensitive)", b.AggregateOn)
	}
	c := b.Contribution
	if c == nil {
		return fail("Contribution", "required")
	}
	if len(c.Keys) < 1 || len(c.Keys) > MaxKeys {
		return fail("Contribution.Keys", "%d keys: want 1 to %d", len(c.Keys), MaxKeys)
	}
	for i, k := range c.Keys {
		if err := r.checkField(k); err != nil {
			return fail(fmt.Sprintf("Contribution.Keys[%d]", i), "%v", err)
		}
	}
	r.Keys = c.Keys
	if c.ValueOf != "" {
		// The rule-syntax page: specify ValueOf only with AggregateOn Sum. With Count every
		// event counts 1 and the field would be read for nothing; a rule that names a value
		// but counts was almost certainly meant to sum it, and reporting counts under it would
		// be a wrong answer nobody notices.
		if b.AggregateOn != "Sum" {
			return fail("Contribution.ValueOf", "%q is used only with AggregateOn Sum (with %s every event counts 1): set AggregateOn to Sum, or remove ValueOf", c.ValueOf, b.AggregateOn)
		}
		if err := r.checkField(c.ValueOf); err != nil {
			return fail("Contribution.ValueOf", "%v", err)
		}
		r.ValueOf = c.ValueOf
	}
	if len(c.Filters) > MaxFilters {
		return fail("Contribution.Filters", "%d filters: at most %d", len(c.Filters), MaxFilters)
	}
	for i, raw := range c.Filters {
		f, err := parseFilter(raw)
		if err == nil {
			err = r.checkField(f.Match)
		}
		if err != nil {
			return fail(fmt.Sprintf("Contribution.Filters[%d]", i), "%v", err)
		}
		r.Filters = append(r.Filters, f)
	}
	return r, nil
}

// checkField validates a Keys/ValueOf/Match reference.
func (r *Rule) checkField(f string) error {
	_, err := r.fieldPath(f)
	return err
}

// fieldPath returns the decode.Plan path of a field reference: the JSON path itself, or for
// CLF the position of a Fields alias or a position written directly ("4").
func (r *Rule) fieldPath(f string) (string, error) {
	if r.Format == decode.JSON {
		if _, err := decode.ParsePath(f); err != nil {
			return "", err
		}
		return f, nil
	}
	if pos, ok := r.Fields[f]; ok {
		return strconv.Itoa(pos), nil
	}
	if n, err := strconv.Atoi(f); err == nil && n >= 1 && n <= decode.MaxCLFPosition && strconv.Itoa(n) == f {
		return f, nil
	}
	return "", fmt.Errorf("%q is neither a name from Fields nor a field position", f)
}

// Matches reports whether the rule reads a stream: a LogGroupNames entry equals it, or one
// ending in * is a prefix of it.
func (r *Rule) Matches(stream string) bool {
	for _, g := range r.LogGroupNames {
		if p, ok := strings.CutSuffix(g, "*"); ok {
			if strings.HasPrefix(stream, p) {
				return true
			}
		} else if g == stream {
			return true
		}
	}
	return false
}
