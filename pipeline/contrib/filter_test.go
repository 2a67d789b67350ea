package contrib

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

	"github.com/weirstream/weir/pipeline/decode"
)

// refMatch is Filter.match as it was before operators were resolved at parse time (it
// compared Op names per record); TestFilterMatchesReference holds the current one to it.
func refMatch(f *Filter, v decode.Value) bool {
	if f.Op == OpIsPresent {
		return v.Present() == f.Present
	}
	if !v.Present() {
		return false
	}
	switch f.Op {
	case OpIn, OpNotIn, OpStartsWith:
		t, ok := text(v)
		if !ok {
			return false
		}
		found := false
		for _, s := range f.strs {
			if f.Op == OpStartsWith && bytes.HasPrefix(t, s) || f.Op != OpStartsWith && bytes.Equal(t, s) {
				found = true
				break
			}
		}
		return found != (f.Op == OpNotIn)
	}
	x, ok := v.Float()
	if !ok || math.IsNaN(x) {
		return false
	}
	switch f.Op {
	case OpGreaterThan:
		return x > f.Number
	case OpLessThan:
		return x < f.Number
	case OpEqualTo:
		return x == f.Number
	default: // OpNotEqualTo
		return x != f.Number
	}
}

func TestFilterMatchesReference(t *testing.T) {
	filters := []string{
		`{"Match":"$.a","In":["GET","POST","200",""]}`, `{"Match":"$.a","In":[200]}`,
		`{"Match":"$.a","NotIn":["GET","5"]}`, `{"Match":"$.a","StartsWith":["5","/api","G"]}`,
		`{"Match":"$.a","GreaterThan":499}`, `{"Match":"$.a","LessThan":-1.5}`,
		`{"Match":"$.a","EqualTo":200}`, `{"Match":"$.a","NotEqualTo":0}`,
		`{"Match":"$.a","IsPresent":true}`, `{"Match":"$.a","IsPresent":false}`,
	}
	num := func(s string, x float64) decode.Value {
		return decode.Value{Kind: decode.Number, Bytes: []byte(s), Num: x}
	}
	str := func(s string) decode.Value { return decode.Value{Kind: decode.String, Bytes: []byte(s)} }
	values := []decode.Value{
		{}, {Kind: decode.Null}, {Kind: decode.Object, Bytes: []byte(`{"x":1}`)}, {Kind: decode.Array, Bytes: []byte(`[200]`)},
		{Kind: decode.Bool, Bytes: []byte("true")}, {Kind: decode.Bool, Bytes: []byte("false")},
		num("200", 200), num("503", 503), num("499", 499), num("0", 0), num("-2", -2), num("2e2", 200),
		str("GET"), str("POST"), str("GE"), str("GETS"), str(""), str("200"), str("503"), str("/api/v1"),
		str("abc"), str("NaN"), str("-3"), str("1e400"), str(" 200"), str("0x10"),
	}
	for _, def := range filters {
		f, err := parseFilter(json.RawMessage(def))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range values {
			if got, want := f.match(&v), refMatch(&f, v); got != want {
				t.Errorf("%s on %v %q: %v, was %v", def, v.Kind, v.Bytes, got, want)
			}
		}
	}
}
