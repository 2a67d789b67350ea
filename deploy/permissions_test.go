package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// permission is one row of PERMISSIONS.md.
type permission struct {
	line     int
	feature  string
	when     []string // conditions on the environment: VAR=value, VAR!=value
	call     string   // service:Operation
	action   string   // "" when no IAM action is evaluated
	resource string   // with ${Param} placeholders
	context  map[string]string
}

func (p permission) String() string {
	return fmt.Sprintf("PERMISSIONS.md:%d %s (%s)", p.line, p.call, p.feature)
}

// loadPermissions parses the table in PERMISSIONS.md.
func loadPermissions(t *testing.T) []permission {
	t.Helper()
	raw, err := os.ReadFile("PERMISSIONS.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []permission
	inTable := false
	for i, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "|") {
			inTable = false
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		if cells[0] == "feature" {
			inTable = true
			continue
		}
		if !inTable || strings.HasPrefix(cells[0], "---") {
			continue
		}
		if len(cells) != 6 {
			t.Fatalf("PERMISSIONS.md:%d: %d cells, want 6", i+1, len(cells))
		}
		p := permission{line: i + 1, feature: cells[0], call: unquote(cells[2]), action: unquote(cells[3]),
			resource: unquote(cells[4]), context: map[string]string{}}
		if p.action == "—" {
			p.action = ""
		}
		if cells[1] != "always" {
			for _, c := range strings.Split(cells[1], ",") {
				p.when = append(p.when, unquote(strings.TrimSpace(c)))
			}
		}
		if cells[5] != "none" {
			for _, kv := range strings.Split(cells[5], ";") {
				k, v, ok := strings.Cut(unquote(strings.TrimSpace(kv)), "=")
				if !ok {
					t.Fatalf("PERMISSIONS.md:%d: condition key %q is not key=value", i+1, kv)
				}
				p.context[k] = v
			}
		}
		out = append(out, p)
	}
	if len(out) < 10 {
		t.Fatalf("PERMISSIONS.md: found %d rows; the table format changed", len(out))
	}
	return out
}

func unquote(s string) string { return strings.Trim(s, "`") }

// applies reports whether every condition of p holds in env (unset variables are empty).
func (p permission) applies(env map[string]string) bool {
	for _, c := range p.when {
		if name, want, ok := strings.Cut(c, "!="); ok {
			if env[name] == want {
				return false
			}
			continue
		}
		name, want, _ := strings.Cut(c, "=")
		if env[name] != want {
			return false
		}
	}
	return true
}

var placeholder = regexp.MustCompile(`\$\{([A-Za-z:]+)\}`)

// request instantiates the row with values; "*" stands for any suffix, so a sample suffix is
// put in its place.
func (p permission) request(values map[string]string) (request, error) {
	var missing []string
	fill := func(s string) string {
		s = placeholder.ReplaceAllStringFunc(s, func(m string) string {
			name := m[2 : len(m)-1]
			v, ok := values[name]
			if !ok {
				missing = append(missing, name)
			}
			return v
		})
		if s != "*" {
			s = strings.ReplaceAll(s, "*", "sample/x.json.gz")
		}
		return s
	}
	r := request{action: p.action, resource: fill(p.resource), context: map[string]string{}}
	for k, v := range p.context {
		r.context[k] = fill(v)
	}
	if len(missing) > 0 {
		return r, fmt.Errorf("%v: no value for %v", p, missing)
	}
	return r, nil
}

// placeholders returns the parameters p's resource and condition keys are built from.
func (p permission) placeholders() []string {
	var out []string
	for _, s := range append([]string{p.resource}, slices.Collect(mapValues(p.context))...) {
		for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
			if m[1] != "AWS::Partition" && !slices.Contains(out, m[1]) {
				out = append(out, m[1])
			}
		}
	}
	return out
}

func mapValues(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

// testParameters are the values the tests give the templates' required parameters.
var testParameters = map[string]map[string]string{
	"weir-msk.yaml": {
		"ClusterName": "prod", "ImageUri": "111122223333.dkr.ecr.us-east-1.amazonaws.com/weir:test",
		"EcrRepositoryArn": "arn:aws:ecr:us-east-1:111122223333:repository/weir",
		"Subnets":          "subnet-0123456789abcdef0", "SecurityGroups": "sg-0123456789abcdef0",
		"MskClusterArn": "arn:aws:kafka:us-east-1:" + testAccount + ":cluster/events/5f3e6a1c-8a5e-4f7e-9a43-1d2f0b9c7e21-2",
		"TopicName":     "access-logs", "BootstrapBrokers": "b-1.events.kafka.us-east-1.amazonaws.com:9098",
		"BucketName": "weir-test-outputs",
	},
	"weir-kinesis.yaml": {
		"ClusterName": "prod", "ImageUri": "111122223333.dkr.ecr.us-east-1.amazonaws.com/weir:test",
		"EcrRepositoryArn": "arn:aws:ecr:us-east-1:111122223333:repository/weir",
		"Subnets":          "subnet-0123456789abcdef0", "SecurityGroups": "sg-0123456789abcdef0",
		"StreamName": "access-logs", "BucketName": "weir-test-outputs",
	},
}

// values returns the stack's parameters plus the names the table derives from them.
func (s *stack) values() map[string]string {
	v := map[string]string{}
	for k, val := range s.params {
		v[k] = val
	}
	if arn := v["MskClusterArn"]; arn != "" {
		_, res, _ := strings.Cut(arn, ":cluster/")
		v["MskClusterName"], v["MskClusterUuid"], _ = strings.Cut(res, "/")
	}
	return v
}

// policyVariants are the parameter settings under which each template's policy is judged:
// every combination of the parameters that switch statements or resources on and off.
var policyVariants = map[string][]map[string]string{
	"weir-msk.yaml": {{"EnableTaskProtection": "false"}, {"EnableTaskProtection": "true"}},
	"weir-kinesis.yaml": {
		{"EnableTaskProtection": "false", "CreateLeaseTable": "true"},
		{"EnableTaskProtection": "true", "CreateLeaseTable": "false"},
	},
}

// forEachStack runs fn on every template under every policy variant.
func forEachStack(t *testing.T, fn func(t *testing.T, s *stack)) {
	for _, path := range templates(t) {
		name := filepath.Base(path)
		for _, variant := range policyVariants[name] {
			values := map[string]string{}
			for k, v := range testParameters[name] {
				values[k] = v
			}
			var label []string
			for k, v := range variant {
				values[k] = v
				label = append(label, k+"="+v)
			}
			slices.Sort(label)
			t.Run(name+"/"+strings.Join(label, ","), func(t *testing.T) {
				fn(t, newStack(t, load(t, path), values))
			})
		}
	}
}

// TestTaskRoleAllowsEveryCall: every call the table lists for a template's environment is
// allowed by its task role, on its resource, with the condition keys its request carries.
func TestTaskRoleAllowsEveryCall(t *testing.T) {
	perms := loadPermissions(t)
	forEachStack(t, func(t *testing.T, s *stack) {
		policy, env, values := s.taskRolePolicy(t), s.environment(t), s.values()
		for _, p := range perms {
			if p.action == "" || !p.applies(env) {
				continue
			}
			r, err := p.request(values)
			if err != nil {
				t.Fatal(err)
			}
			ok, why, err := evaluate(policy, r)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				t.Errorf("the task role denies %v, which the worker needs for %v: %s", r, p, why)
			}
		}
	})
}

// TestTaskRoleGrantsNothingBroader: the task role grants only actions the table needs in the
// template's environment, with no wildcards, and only on the resources (and condition values)
// the table names: the same call on another bucket, prefix, stream, table, topic, group,
// namespace or task is denied.
func TestTaskRoleGrantsNothingBroader(t *testing.T) {
	perms := loadPermissions(t)
	forEachStack(t, func(t *testing.T, s *stack) {
		policy, env, values := s.taskRolePolicy(t), s.environment(t), s.values()
		needed := map[string]bool{}
		for _, p := range perms {
			if p.action != "" && p.applies(env) {
				needed[strings.ToLower(p.action)] = true
			}
		}
		for _, st := range policy {
			if !st.allow {
				continue
			}
			for _, a := range st.actions {
				switch {
				case strings.ContainsAny(a, "*?"):
					t.Errorf("statement %q grants the wildcard action %s", st.sid, a)
				case !needed[strings.ToLower(a)]:
					t.Errorf("statement %q grants %s, which the worker never needs with this template's environment (PERMISSIONS.md)", st.sid, a)
				default:
					checkWithin(t, st, a, perms, env, values)
				}
			}
		}
		for _, p := range perms {
			if p.action == "" || !p.applies(env) {
				continue
			}
			for _, name := range p.placeholders() {
				other := map[string]string{}
				for k, v := range values {
					other[k] = v
				}
				other[name] = values[name] + "-other"
				r, err := p.request(other)
				if err != nil {
					t.Fatal(err)
				}
				ok, _, err := evaluate(policy, r)
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					t.Errorf("the task role allows %v: broader than %v needs (a different %s)", r, p, name)
				}
			}
		}
	})
}

// checkWithin fails when statement st grants action on a resource, or with a condition value,
// wider than every applicable row of the table for that action: a pattern is within another
// when the other matches it as a string (its wildcards standing for themselves).
func checkWithin(t *testing.T, st statement, action string, perms []permission, env, values map[string]string) {
	t.Helper()
	var rows []permission
	for _, p := range perms {
		if strings.EqualFold(p.action, action) && p.applies(env) {
			rows = append(rows, p)
		}
	}
	fill := func(s string) string {
		return placeholder.ReplaceAllStringFunc(s, func(m string) string { return values[m[2:len(m)-1]] })
	}
	for _, res := range st.resources {
		var patterns []string
		within := false
		for _, p := range rows {
			patterns = append(patterns, fill(p.resource))
			within = within || wildcard(fill(p.resource), res, false)
		}
		if !within {
			t.Errorf("statement %q grants %s on %s, wider than PERMISSIONS.md needs (%v)", st.sid, action, res, patterns)
		}
	}
	for op, keys := range st.conditions {
		if strings.Contains(op, "Not") || op == "Null" || op == "Bool" {
			continue
		}
		for key, vals := range keys {
			for _, v := range vals {
				var patterns []string
				within := false
				for _, p := range rows {
					if pv, ok := lookup(p.context, key); ok {
						patterns = append(patterns, fill(pv))
						within = within || wildcard(fill(pv), v, false)
					}
				}
				if len(patterns) > 0 && !within {
					t.Errorf("statement %q allows %s with %s %s, wider than PERMISSIONS.md needs (%v)", st.sid, action, key, v, patterns)
				}
			}
		}
	}
}
