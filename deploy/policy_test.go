package deploy

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// An IAM policy evaluator for the task role's identity policies, as AWS documents the logic
// for one account with no resource policies, boundaries or SCPs: an explicit Deny wins, else
// any matching Allow allows, else the request is implicitly denied. A statement matches when
// its Action, its Resource and every one of its Condition blocks match the request.
//
// It implements what the templates use and fails loudly on anything else (NotAction,
// ForAnyValue:, numeric operators …), so a template change it cannot judge breaks the test
// instead of passing it. moto's own IAM enforcement cannot stand in for it: moto 5.2.1 evaluates
// every Condition against an empty request context, so any conditioned statement (the
// s3:prefix on ListBucket, the namespace on PutMetricData) acts as an explicit Deny; it matches
// resources only for S3; and it maps HeadBucket to an "s3:HeadBucket" action that does not
// exist in IAM.

// statement is one resolved policy statement.
type statement struct {
	sid       string
	allow     bool
	actions   []string
	resources []string
	// conditions maps an operator (StringLike, ArnEquals, …) to its keys and their values.
	conditions map[string]map[string][]string
}

// request is one authorization request: the action, the resource ARN and the condition keys
// the request carries (a key the request does not carry is absent, never empty).
type request struct {
	action   string
	resource string
	context  map[string]string
}

func (r request) String() string {
	s := r.action + " on " + r.resource
	if len(r.context) == 0 {
		return s + " (no condition keys)"
	}
	var kv []string
	for k, v := range r.context {
		kv = append(kv, k+"="+v)
	}
	return s + " with " + strings.Join(kv, ", ")
}

// parseStatements reads a resolved policy document.
func parseStatements(doc any) ([]statement, error) {
	list, ok := get(doc, "Statement").([]any)
	if !ok {
		return nil, fmt.Errorf("policy document has no Statement list: %v", doc)
	}
	var out []statement
	for _, raw := range list {
		m, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("statement %v is not a map", raw)
		}
		st := statement{conditions: map[string]map[string][]string{}}
		for k, v := range m {
			switch k {
			case "Sid":
				st.sid = v.(string)
			case "Effect":
				switch v {
				case "Allow":
					st.allow = true
				case "Deny":
				default:
					return nil, fmt.Errorf("statement effect %v", v)
				}
			case "Action":
				st.actions = strs(v)
			case "Resource":
				st.resources = strs(v)
			case "Condition":
				for op, keys := range v.(map[string]any) {
					st.conditions[op] = map[string][]string{}
					for key, vals := range keys.(map[string]any) {
						st.conditions[op][strings.ToLower(key)] = strs(vals)
					}
				}
			default:
				return nil, fmt.Errorf("statement element %s is not implemented by the test's evaluator", k)
			}
		}
		if len(st.actions) == 0 || len(st.resources) == 0 {
			return nil, fmt.Errorf("statement %v lacks Action or Resource", m)
		}
		out = append(out, st)
	}
	return out, nil
}

func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, it := range v {
			out = append(out, it.(string))
		}
		return out
	}
	panic(fmt.Sprintf("expected a string or a list of strings, got %T", v))
}

// evaluate returns whether the statements allow r, and why not when they do not.
func evaluate(stmts []statement, r request) (bool, string, error) {
	allowed := false
	var near []string // statements that name the action and resource but whose conditions fail
	for _, st := range stmts {
		if !anyMatch(st.actions, r.action, true) || !anyMatch(st.resources, r.resource, false) {
			continue
		}
		ok, err := st.conditionsHold(r.context)
		if err != nil {
			return false, "", err
		}
		if !ok {
			near = append(near, fmt.Sprintf("statement %q names it, but its condition %v does not hold", st.sid, st.conditions))
			continue
		}
		if !st.allow {
			return false, fmt.Sprintf("explicitly denied by statement %q", st.sid), nil
		}
		allowed = true
	}
	if allowed {
		return true, "", nil
	}
	if len(near) > 0 {
		return false, strings.Join(near, "; "), nil
	}
	return false, "no statement allows this action on this resource", nil
}

func anyMatch(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if wildcard(p, s, fold) {
			return true
		}
	}
	return false
}

// wildcard matches IAM's * (any run of characters) and ? (one character).
func wildcard(pattern, s string, fold bool) bool {
	var b strings.Builder
	b.WriteString("^")
	if fold {
		b.WriteString("(?i)")
	}
	for _, r := range pattern {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String()).MatchString(s)
}

// conditionsHold evaluates every condition block against ctx (keys lower-cased).
func (st statement) conditionsHold(ctx map[string]string) (bool, error) {
	for op, keys := range st.conditions {
		base, ifExists := strings.CutSuffix(op, "IfExists")
		if strings.Contains(base, ":") {
			return false, fmt.Errorf("condition set operator %s is not implemented by the test's evaluator", op)
		}
		for key, want := range keys {
			got, present := lookup(ctx, key)
			if base == "Null" {
				// Null: "true" holds when the key is absent.
				if (want[0] == "true") != !present {
					return false, nil
				}
				continue
			}
			if !present {
				// A missing key matches nothing; negated operators then hold, as do ...IfExists.
				if ifExists || strings.Contains(base, "Not") {
					continue
				}
				return false, nil
			}
			match := false
			for _, w := range want {
				switch base {
				case "StringEquals", "StringNotEquals", "ArnEquals", "ArnNotEquals":
					match = match || got == w
				case "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase":
					match = match || strings.EqualFold(got, w)
				case "StringLike", "StringNotLike", "ArnLike", "ArnNotLike":
					match = match || wildcard(w, got, false)
				case "Bool":
					match = match || strings.EqualFold(got, w)
				default:
					return false, fmt.Errorf("condition operator %s is not implemented by the test's evaluator", op)
				}
			}
			if strings.Contains(base, "Not") {
				match = !match
			}
			if !match {
				return false, nil
			}
		}
	}
	return true, nil
}

func lookup(ctx map[string]string, key string) (string, bool) {
	for k, v := range ctx {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return "", false
}

// taskRolePolicy returns the task role's statements in s, resolved. Managed policies cannot be
// evaluated here, so the templates must not attach any.
func (s *stack) taskRolePolicy(t *testing.T) []statement {
	t.Helper()
	role := s.resource(t, "TaskRole")
	if get(role, "ManagedPolicyArns") != nil || get(role, "PermissionsBoundary") != nil {
		t.Fatal("TaskRole attaches managed policies or a boundary, which the test cannot evaluate: inline the statements")
	}
	var all []statement
	for _, p := range get(role, "Policies").([]any) {
		stmts, err := parseStatements(get(p, "PolicyDocument"))
		if err != nil {
			t.Fatalf("TaskRole policy %v: %v", get(p, "PolicyName"), err)
		}
		all = append(all, stmts...)
	}
	return all
}

// The evaluator itself, on the case issue 23 is about: ListBucket granted only under an
// s3:prefix condition does not cover HeadBucket, whose request carries no s3:prefix, while a
// listing under the prefix is allowed and one outside it is not.
func TestEvaluatorConditions(t *testing.T) {
	stmts, err := parseStatements(map[string]any{"Statement": []any{
		map[string]any{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b",
			"Condition": map[string]any{"StringLike": map[string]any{"s3:prefix": []any{"weir/*", "weir"}}}},
		map[string]any{"Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
			"Condition": map[string]any{"StringEquals": map[string]any{"cloudwatch:namespace": "Weir"}}},
		map[string]any{"Effect": "Allow", "Action": []any{"s3:Get*"}, "Resource": "arn:aws:s3:::b/weir/*"},
		map[string]any{"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/weir/secret/*"},
		map[string]any{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/weir/*",
			"Condition": map[string]any{"StringNotEqualsIfExists": map[string]any{"s3:x-amz-server-side-encryption": "AES256"}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		r    request
		want bool
	}{
		{request{"s3:ListBucket", "arn:aws:s3:::b", nil}, false}, // HeadBucket
		{request{"s3:ListBucket", "arn:aws:s3:::b", map[string]string{"s3:prefix": "weir/kind=state/"}}, true},
		{request{"s3:ListBucket", "arn:aws:s3:::b", map[string]string{"s3:prefix": "weir"}}, true},
		{request{"s3:ListBucket", "arn:aws:s3:::b", map[string]string{"s3:prefix": "other/"}}, false},
		{request{"S3:listbucket", "arn:aws:s3:::b", map[string]string{"S3:Prefix": "weir/x"}}, true}, // names fold case
		{request{"s3:ListBucket", "arn:aws:s3:::B", map[string]string{"s3:prefix": "weir/x"}}, false},
		{request{"cloudwatch:PutMetricData", "*", map[string]string{"cloudwatch:namespace": "Weir"}}, true},
		{request{"cloudwatch:PutMetricData", "*", map[string]string{"cloudwatch:namespace": "Other"}}, false},
		{request{"cloudwatch:PutMetricData", "*", nil}, false},
		{request{"s3:GetObject", "arn:aws:s3:::b/weir/kind=state/x", nil}, true},
		{request{"s3:GetObject", "arn:aws:s3:::b/weir/secret/x", nil}, false}, // explicit Deny wins
		{request{"s3:GetObject", "arn:aws:s3:::b/other/x", nil}, false},
		{request{"s3:PutObject", "arn:aws:s3:::b/weir/x", nil}, true},
		{request{"s3:PutObject", "arn:aws:s3:::b/weir/x", map[string]string{"s3:x-amz-server-side-encryption": "aws:kms"}}, true},
		{request{"s3:PutObject", "arn:aws:s3:::b/weir/x", map[string]string{"s3:x-amz-server-side-encryption": "AES256"}}, false},
	} {
		got, why, err := evaluate(stmts, c.r)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%v: allowed %v, want %v (%s)", c.r, got, c.want, why)
		}
	}
}
