package contrib

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/weirstream/weir/pipeline/decode"
)

// Filter is one Contribution.Filters entry: Match names a field, Op is the operator.
//
// Semantics (the rule-syntax page fixes the operators and their operand types, not every
// corner; these are weir's choices, chosen to agree with it):
//   - In, NotIn, StartsWith compare the field's text: a string's unescaped value, a number as it
//     is written in the event (so StartsWith ["5"] matches status 503, and In ["200"] matches
//     200 and "200"), true/false for booleans. Null, objects and arrays match none of them.
//     Case sensitive.
//   - GreaterThan, LessThan, EqualTo, NotEqualTo compare numerically: numbers, and strings that
//     hold a decimal number (CLF fields are text). A field that is not numeric fails them all,
//     NotEqualTo included.
//   - A missing field fails every operator except IsPresent false (NotIn included: a filter
//     says something about a field, and an event without it is not what the rule is about).
//   - IsPresent true matches when the path resolves to any value (null included), IsPresent
//     false when it does not resolve.
type Filter struct {
	Match   string
	Op      string
	Strings []string
	Number  float64
	Present bool

	strs [][]byte // Strings as bytes, for comparing without conversion
	op   filterOp // Op, resolved by parseFilter
}

// filterOp is Op resolved once when the rule is parsed, so that match switches on a small
// integer instead of comparing operator names for every record. The zero value matches
// nothing (a Filter that parseFilter did not build).
type filterOp uint8

const (
	opIn filterOp = iota + 1
	opNotIn
	opStartsWith
	opGreaterThan
	opLessThan
	opEqualTo
	opNotEqualTo
	opIsPresent
)

var filterOps = map[string]filterOp{
	OpIn: opIn, OpNotIn: opNotIn, OpStartsWith: opStartsWith, OpGreaterThan: opGreaterThan,
	OpLessThan: opLessThan, OpEqualTo: opEqualTo, OpNotEqualTo: opNotEqualTo, OpIsPresent: opIsPresent,
}

// The filter operators.
const (
	OpIn          = "In"
	OpNotIn       = "NotIn"
	OpStartsWith  = "StartsWith"
	OpGreaterThan = "GreaterThan"
	OpLessThan    = "LessThan"
	OpEqualTo     = "EqualTo"
	OpNotEqualTo  = "NotEqualTo"
	OpIsPresent   = "IsPresent"
)

func parseFilter(raw json.RawMessage) (Filter, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return Filter{}, fmt.Errorf("want an object with Match and one operator: %v", err)
	}
	var f Filter
	matchRaw, ok := m["Match"]
	if !ok {
		return f, errors.New("filter has no Match field")
	}
	if err := json.Unmarshal(matchRaw, &f.Match); err != nil || f.Match == "" {
		return f, errors.New("filter Match must be a non-empty string")
	}
	delete(m, "Match")
	if len(m) != 1 {
		names := make([]string, 0, len(m))
		for k := range m {
			names = append(names, k)
		}
		return f, fmt.Errorf("want exactly one operator besides Match, have %q", names)
	}
	for op, v := range m {
		f.Op, f.op = op, filterOps[op]
		switch op {
		case OpIn, OpNotIn, OpStartsWith:
			var vals []json.RawMessage
			if err := json.Unmarshal(v, &vals); err != nil {
				return f, fmt.Errorf("%s: want an array of strings", op)
			}
			if len(vals) < 1 || len(vals) > MaxFilterValue {
				return f, fmt.Errorf("%s: %d values, want 1 to %d", op, len(vals), MaxFilterValue)
			}
			for i, rv := range vals {
				var s string
				if err := json.Unmarshal(rv, &s); err != nil {
					// A number is accepted as its text (In [200] means In ["200"]).
					var n json.Number
					d := json.NewDecoder(bytes.NewReader(rv))
					d.UseNumber()
					if d.Decode(&n) != nil {
						return f, fmt.Errorf("%s[%d]: want a string", op, i)
					}
					s = n.String()
				}
				f.Strings = append(f.Strings, s)
				f.strs = append(f.strs, []byte(s))
			}
		case OpGreaterThan, OpLessThan, OpEqualTo, OpNotEqualTo:
			if err := json.Unmarshal(v, &f.Number); err != nil || math.IsInf(f.Number, 0) {
				return f, fmt.Errorf("%s: want a number", op)
			}
		case OpIsPresent:
			if err := json.Unmarshal(v, &f.Present); err != nil {
				return f, fmt.Errorf("%s: want true or false", op)
			}
		default:
			return f, fmt.Errorf("unknown operator %q (want In, NotIn, StartsWith, GreaterThan, LessThan, EqualTo, NotEqualTo or IsPresent)", op)
		}
	}
	return f, nil
}

// text returns the bytes In/NotIn/StartsWith compare, or ok false for values they never match.
func text(v decode.Value) ([]byte, bool) {
	switch v.Kind {
	case decode.String, decode.Number, decode.Bool:
		return v.Bytes, true
	}
	return nil, false
}

// match evaluates the filter on the field's value (a pointer: a Value is 40 bytes, and this
// runs for every filter of every rule on every record).
func (f *Filter) match(v *decode.Value) bool {
	if f.op == opIsPresent {
		return v.Present() == f.Present
	}
	if !v.Present() {
		return false
	}
	switch f.op {
	case opIn, opNotIn:
		t, ok := text(*v)
		if !ok {
			return false
		}
		found := false
		for _, s := range f.strs {
			if bytes.Equal(t, s) {
				found = true
				break
			}
		}
		return found != (f.op == opNotIn)
	case opStartsWith:
		t, ok := text(*v)
		if !ok {
			return false
		}
		for _, s := range f.strs {
			if bytes.HasPrefix(t, s) {
				return true
			}
		}
		return false
	}
	x, ok := v.Num, v.Kind == decode.Number
	if !ok {
		x, ok = v.Float() // a string holding a number
	}
	if !ok || math.IsNaN(x) {
		return false
	}
	switch f.op {
	case opGreaterThan:
		return x > f.Number
	case opLessThan:
		return x < f.Number
	case opEqualTo:
		return x == f.Number
	case opNotEqualTo:
		return x != f.Number
	}
	return false
}
