package contrib

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// LoadFile reads the rules of one file. A file holds either
//   - one rule body exactly as CloudWatch takes it (named after the file, without extension), or
//   - one named rule {"RuleName": …, "RuleBody": <body object or string>, "RuleState": …}
//     (the PutInsightRule and CloudFormation spelling; "RuleDefinition" is accepted for
//     RuleBody; RuleState ENABLED, the default, or DISABLED, see Rule.Disabled), or
//   - a JSON array of named rules.
//
// Rule names must be unique within a file; across files the caller checks (LoadFiles does).
func LoadFile(path string) ([]*Rule, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var list []json.RawMessage
		if err := json.Unmarshal(trimmed, &list); err != nil {
			return nil, jsonError(path, data, trimmed, err)
		}
		var rules []*Rule
		for i, raw := range list {
			r, err := parseNamed(raw, "")
			if err != nil {
				return nil, fmt.Errorf("%s: rule %d: %w", path, i, err)
			}
			rules = append(rules, r)
		}
		return rules, checkUnique(rules, path)
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &probe); err != nil {
		return nil, jsonError(path, data, trimmed, err)
	}
	if _, named := probe["RuleName"]; named {
		r, err := parseNamed(trimmed, base)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return []*Rule{r}, nil
	}
	r, err := ParseRule(base, trimmed)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return []*Rule{r}, nil
}

// LoadFiles loads several files and checks that rule names are unique across them.
func LoadFiles(paths []string) ([]*Rule, error) {
	var all []*Rule
	for _, p := range paths {
		rules, err := LoadFile(p)
		if err != nil {
			return nil, err
		}
		all = append(all, rules...)
	}
	return all, checkUnique(all, strings.Join(paths, ", "))
}

func parseNamed(raw []byte, defaultName string) (*Rule, error) {
	var n struct {
		RuleName       string          `json:"RuleName"`
		RuleBody       json.RawMessage `json:"RuleBody"`
		RuleDefinition json.RawMessage `json:"RuleDefinition"`
		RuleState      string          `json:"RuleState"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&n); err != nil {
		return nil, fmt.Errorf("want {\"RuleName\", \"RuleBody\"}: %v", err)
	}
	name := n.RuleName
	if name == "" {
		name = defaultName
	}
	body := n.RuleBody
	if body == nil {
		body = n.RuleDefinition
	}
	if body == nil {
		return nil, fmt.Errorf("rule %q: RuleBody is required", name)
	}
	var disabled bool
	switch n.RuleState {
	case "", StateEnabled: // PutInsightRule's default is ENABLED
	case StateDisabled:
		disabled = true
	default:
		return nil, fmt.Errorf("rule %q: RuleState: %q: want %s or %s (case sensitive)", name, n.RuleState, StateEnabled, StateDisabled)
	}
	// A body given as a JSON string (as the API takes it) is unwrapped.
	var s string
	if json.Unmarshal(body, &s) == nil {
		body = []byte(s)
	}
	r, err := ParseRule(name, body)
	if err != nil {
		return nil, err
	}
	r.Disabled = disabled
	return r, nil
}

func checkUnique(rules []*Rule, where string) error {
	seen := map[string]bool{}
	for _, r := range rules {
		if seen[r.Name] {
			return fmt.Errorf("%s: two rules are named %q", where, r.Name)
		}
		seen[r.Name] = true
	}
	return nil
}

// jsonError names where in the file a JSON error is, as path:line:column (both 1-based), the
// way editors and compilers do: encoding/json reports only a byte offset, into trimmed, which
// starts where data's leading white space ends. Errors without an offset get the path alone.
func jsonError(path string, data, trimmed []byte, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 {
		return fmt.Errorf("%s: %v", path, err)
	}
	if len(trimmed) == 0 {
		return fmt.Errorf("%s: empty file: want a rule body, a named rule or a list of them", path)
	}
	// The offset counts the byte that failed (or the end); point at it.
	pos := len(data) - len(bytes.TrimLeft(data, " \t\r\n")) + int(off)
	pos = min(max(pos-1, 0), len(data))
	before := data[:pos]
	line := bytes.Count(before, []byte("\n")) + 1
	col := pos - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return fmt.Errorf("%s:%d:%d: %v", path, line, col, err)
}
