package deploy

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func templates(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("cloudformation", "*.yaml"))
	if err != nil || len(files) < 2 {
		t.Fatalf("templates: %v %v", files, err)
	}
	return files
}

// load parses a template into plain maps and slices; short-form intrinsics such as !Ref x
// become {"!Ref": x}.
func load(t *testing.T, path string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return plain(doc.Content[0]).(map[string]any)
}

func plain(n *yaml.Node) any {
	var v any
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i < len(n.Content); i += 2 {
			m[n.Content[i].Value] = plain(n.Content[i+1])
		}
		v = m
	case yaml.SequenceNode:
		s := []any{}
		for _, c := range n.Content {
			s = append(s, plain(c))
		}
		v = s
	case yaml.AliasNode:
		return plain(n.Alias)
	default:
		v = n.Value
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return map[string]any{n.Tag: v}
	}
	return v
}

func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// stack is a template instantiated with parameter values, the way CloudFormation would deploy
// it: resolve turns any part of the template into plain strings, maps and lists with every
// intrinsic function evaluated. Only the intrinsics the templates use are implemented; any
// other one fails the test rather than being passed through unevaluated.
type stack struct {
	tpl    map[string]any
	params map[string]string // every template parameter, defaults applied, plus the pseudo parameters
}

// The pseudo parameters of the test stacks: moto's default account and region.
const (
	testAccount   = "123456789012"
	testRegion    = "us-east-1"
	testPartition = "aws"
)

// newStack instantiates tpl with values over the parameters' defaults. A parameter with no
// default and no value fails the test, as CloudFormation would refuse the stack.
func newStack(t *testing.T, tpl map[string]any, values map[string]string) *stack {
	t.Helper()
	s := &stack{tpl: tpl, params: map[string]string{
		"AWS::AccountId": testAccount, "AWS::Region": testRegion, "AWS::Partition": testPartition,
		"AWS::StackName": "weir-test", "AWS::URLSuffix": "amazonaws.com",
	}}
	for name, p := range get(tpl, "Parameters").(map[string]any) {
		v, ok := values[name]
		if !ok {
			d, hasDefault := get(p, "Default").(string)
			if !hasDefault {
				t.Fatalf("parameter %s has no default and the test gives it no value", name)
			}
			v = d
		}
		s.params[name] = v
	}
	for name := range values {
		if _, ok := get(tpl, "Parameters", name).(map[string]any); !ok {
			t.Fatalf("the test sets parameter %s, which the template does not declare", name)
		}
	}
	return s
}

// noValue is what AWS::NoValue resolves to: the property or list item is removed.
type noValue struct{}

func (s *stack) resolve(v any) (any, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case []any:
		out := make([]any, 0, len(v))
		for _, it := range v {
			r, err := s.resolve(it)
			if err != nil {
				return nil, err
			}
			if _, skip := r.(noValue); !skip {
				out = append(out, r)
			}
		}
		return out, nil
	case map[string]any:
		if len(v) == 1 {
			for k, arg := range v {
				if strings.HasPrefix(k, "!") || k == "Ref" || strings.HasPrefix(k, "Fn::") {
					return s.intrinsic(k, arg)
				}
			}
		}
		out := make(map[string]any, len(v))
		for k, it := range v {
			r, err := s.resolve(it)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			if _, skip := r.(noValue); !skip {
				out[k] = r
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected %T in template", v)
}

func (s *stack) str(v any) (string, error) {
	r, err := s.resolve(v)
	if err != nil {
		return "", err
	}
	str, ok := r.(string)
	if !ok {
		return "", fmt.Errorf("expected a string, got %v", r)
	}
	return str, nil
}

func (s *stack) intrinsic(name string, arg any) (any, error) {
	name = strings.TrimPrefix(strings.TrimPrefix(name, "!"), "Fn::")
	args, _ := arg.([]any)
	switch name {
	case "Ref":
		return s.ref(arg.(string))
	case "GetAtt":
		ref, _ := arg.(string)
		if args != nil {
			ref = args[0].(string) + "." + args[1].(string)
		}
		return s.getAtt(ref)
	case "Sub":
		return s.sub(arg)
	case "Join":
		sep, err := s.str(args[0])
		if err != nil {
			return nil, err
		}
		items, err := s.resolve(args[1])
		if err != nil {
			return nil, err
		}
		var parts []string
		for _, it := range items.([]any) {
			parts = append(parts, it.(string))
		}
		return strings.Join(parts, sep), nil
	case "Split":
		sep, err := s.str(args[0])
		if err != nil {
			return nil, err
		}
		str, err := s.str(args[1])
		if err != nil {
			return nil, err
		}
		var out []any
		for _, p := range strings.Split(str, sep) {
			out = append(out, p)
		}
		return out, nil
	case "Select":
		idx, err := s.str(args[0])
		if err != nil {
			return nil, err
		}
		i, err := strconv.Atoi(idx)
		if err != nil {
			return nil, err
		}
		list, err := s.resolve(args[1])
		if err != nil {
			return nil, err
		}
		l := list.([]any)
		if i < 0 || i >= len(l) {
			return nil, fmt.Errorf("Fn::Select: index %d out of %d items", i, len(l))
		}
		return l[i], nil
	case "If":
		cond, err := s.condition(args[0].(string))
		if err != nil {
			return nil, err
		}
		if cond {
			return s.resolve(args[1])
		}
		return s.resolve(args[2])
	}
	return nil, fmt.Errorf("intrinsic %s is not implemented by the test's resolver", name)
}

func (s *stack) ref(name string) (any, error) {
	if name == "AWS::NoValue" {
		return noValue{}, nil
	}
	if v, ok := s.params[name]; ok {
		return v, nil
	}
	res, ok := get(s.tpl, "Resources", name).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("!Ref %s: no such parameter or resource", name)
	}
	// Ref of a resource is its physical id; for the types the policies refer to that is the
	// name given in the template.
	switch get(res, "Type") {
	case "AWS::DynamoDB::Table":
		return s.str(get(res, "Properties", "TableName"))
	case "AWS::Logs::LogGroup":
		return s.str(get(res, "Properties", "LogGroupName"))
	case "AWS::S3::Bucket":
		return s.str(get(res, "Properties", "BucketName"))
	}
	return "physical-id-of-" + name, nil
}

func (s *stack) getAtt(ref string) (any, error) {
	id, attr, _ := strings.Cut(ref, ".")
	res, ok := get(s.tpl, "Resources", id).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("!GetAtt %s: no such resource", ref)
	}
	name, err := s.ref(id)
	if err != nil {
		return nil, err
	}
	p := s.params
	switch typ := get(res, "Type"); {
	case typ == "AWS::DynamoDB::Table" && attr == "Arn":
		return fmt.Sprintf("arn:%s:dynamodb:%s:%s:table/%s", p["AWS::Partition"], p["AWS::Region"], p["AWS::AccountId"], name), nil
	case typ == "AWS::Logs::LogGroup" && attr == "Arn":
		return fmt.Sprintf("arn:%s:logs:%s:%s:log-group:%s:*", p["AWS::Partition"], p["AWS::Region"], p["AWS::AccountId"], name), nil
	case typ == "AWS::IAM::Role" && attr == "Arn":
		return fmt.Sprintf("arn:%s:iam::%s:role/%s", p["AWS::Partition"], p["AWS::AccountId"], id), nil
	}
	return nil, fmt.Errorf("!GetAtt %s is not implemented by the test's resolver", ref)
}

var subVar = regexp.MustCompile(`\$\{([^}]+)\}`)

func (s *stack) sub(arg any) (any, error) {
	format, ok := arg.(string)
	vars := map[string]string{}
	if !ok {
		args := arg.([]any)
		format = args[0].(string)
		for k, v := range args[1].(map[string]any) {
			str, err := s.str(v)
			if err != nil {
				return nil, err
			}
			vars[k] = str
		}
	}
	var firstErr error
	out := subVar.ReplaceAllStringFunc(format, func(m string) string {
		name := m[2 : len(m)-1]
		if strings.HasPrefix(name, "!") { // ${!Literal}
			return "${" + name[1:] + "}"
		}
		if v, ok := vars[name]; ok {
			return v
		}
		var r any
		var err error
		if strings.Contains(name, ".") {
			r, err = s.getAtt(name)
		} else {
			r, err = s.ref(name)
		}
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("!Sub %q: %w", format, err)
		}
		str, _ := r.(string)
		return str
	})
	return out, firstErr
}

func (s *stack) condition(name string) (bool, error) {
	c := get(s.tpl, "Conditions", name)
	if c == nil {
		return false, fmt.Errorf("no condition %s", name)
	}
	return s.boolean(c)
}

func (s *stack) boolean(v any) (bool, error) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return false, fmt.Errorf("condition %v is not a condition function", v)
	}
	for k, arg := range m {
		args, _ := arg.([]any)
		switch strings.TrimPrefix(strings.TrimPrefix(k, "!"), "Fn::") {
		case "Equals":
			a, err := s.str(args[0])
			if err != nil {
				return false, err
			}
			b, err := s.str(args[1])
			return a == b, err
		case "Not":
			b, err := s.boolean(args[0])
			return !b, err
		case "And", "Or":
			and := strings.HasSuffix(k, "And")
			for _, a := range args {
				b, err := s.boolean(a)
				if err != nil {
					return false, err
				}
				if b != and {
					return b, nil
				}
			}
			return and, nil
		case "Condition":
			return s.condition(arg.(string))
		}
		return false, fmt.Errorf("condition function %s is not implemented by the test's resolver", k)
	}
	panic("unreachable")
}

// resource returns a resource's resolved Properties, or nil when its Condition is false.
func (s *stack) resource(t *testing.T, id string) map[string]any {
	t.Helper()
	res, ok := get(s.tpl, "Resources", id).(map[string]any)
	if !ok {
		t.Fatalf("no resource %s", id)
	}
	if c, ok := res["Condition"].(string); ok {
		on, err := s.condition(c)
		if err != nil {
			t.Fatal(err)
		}
		if !on {
			return nil
		}
	}
	props, err := s.resolve(res["Properties"])
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	return props.(map[string]any)
}

// resourceIDs returns the template's resource ids, sorted.
func resourceIDs(tpl map[string]any) []string {
	return slices.Sorted(maps.Keys(get(tpl, "Resources").(map[string]any)))
}

// environment returns the worker container's environment as the task definition sets it.
func (s *stack) environment(t *testing.T) map[string]string {
	t.Helper()
	td := s.resource(t, "TaskDefinition")
	env := map[string]string{}
	for _, kv := range get(td, "ContainerDefinitions").([]any)[0].(map[string]any)["Environment"].([]any) {
		env[get(kv, "Name").(string)] = get(kv, "Value").(string)
	}
	return env
}
