package decode

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
)

// fuzzPaths are the fields the Decode fuzzers plan; they reach into the shapes the seeds have.
var fuzzPaths = []string{"$.a", "$.b.c", "$.arr[0]", "$.arr[1].x", "$.a.b", "$['k k']"}

// The differential reference: an ordered tree built from encoding/json's tokens, with paths
// evaluated first-wins like the scanner.
type refMember struct {
	key string
	val any
}

func refParse(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok := tok.(type) {
	case json.Delim:
		if tok == '{' {
			var obj []refMember
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := refParse(dec)
				if err != nil {
					return nil, err
				}
				obj = append(obj, refMember{k.(string), v})
			}
			_, err := dec.Token()
			return obj, err
		}
		var arr []any
		for dec.More() {
			v, err := refParse(dec)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err := dec.Token()
		return arr, err
	}
	return tok, nil
}

// refEval finds the first value in document order that path reaches; with duplicate members
// every occurrence is tried in order, which is the scanner's per-path first-wins rule.
func refEval(v any, steps []Step) (any, bool) {
	if len(steps) == 0 {
		return v, true
	}
	st := steps[0]
	switch x := v.(type) {
	case []refMember:
		if st.Index >= 0 {
			return nil, false
		}
		for _, m := range x {
			if m.key == st.Key {
				if r, ok := refEval(m.val, steps[1:]); ok {
					return r, true
				}
			}
		}
	case []any:
		if st.Index >= 0 && st.Index < len(x) {
			return refEval(x[st.Index], steps[1:])
		}
	}
	return nil, false
}

func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		`{"a":"x","b":{"c":1},"arr":[1,{"x":true}]}`,
		`{"a":{"b":"\u00e9\ud83d\ude00"},"k k":null}`,
		`{"a":1,"a":2}`,
		`[{"a":1}]`,
		`{"arr":[[],{}],"b":{"c":-1.5e-7}}`,
		`{"a":"x\"y\\z"}`,
		`{"a":`,
	} {
		f.Add([]byte(seed))
	}
	p := NewPlan(JSON)
	parsed := make([]Path, len(fuzzPaths))
	for i, s := range fuzzPaths {
		if _, err := p.Add(s); err != nil {
			f.Fatal(err)
		}
		parsed[i], _ = ParsePath(s)
	}
	d := p.NewDecoder()
	out := make([]Value, p.Len())
	f.Fuzz(func(t *testing.T, doc []byte) {
		err := d.Decode(doc, out)
		valid := json.Valid(doc)
		if err != nil {
			if valid {
				t.Fatalf("valid JSON rejected: %v", err)
			}
			return
		}
		if !valid {
			// Allowed only when every field was found (the scan stopped early).
			for i := range out {
				if out[i].Kind == Missing {
					t.Fatalf("invalid JSON accepted although field %d is missing", i)
				}
			}
			return
		}
		if !utf8.Valid(doc) {
			return // encoding/json replaces invalid UTF-8; the scanner passes it through
		}
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.UseNumber()
		tree, rerr := refParse(dec)
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			t.Fatalf("reference: %v", rerr)
		}
		for i, path := range parsed {
			rv, ok := refEval(tree, path.Steps())
			got := out[i]
			if !ok {
				if got.Kind != Missing {
					t.Fatalf("%s: got %v %q, reference has nothing", path, got.Kind, got.Bytes)
				}
				continue
			}
			switch rv := rv.(type) {
			case string:
				if got.Kind != String || string(got.Bytes) != rv {
					t.Fatalf("%s: got %v %q, want string %q", path, got.Kind, got.Bytes, rv)
				}
			case json.Number:
				if got.Kind != Number || string(got.Bytes) != string(rv) {
					t.Fatalf("%s: got %v %q, want number %s", path, got.Kind, got.Bytes, rv)
				}
				// The value, bit for bit, whether jnumber's exact path or ParseFloat made it.
				if want, _ := strconv.ParseFloat(string(rv), 64); math.Float64bits(got.Num) != math.Float64bits(want) {
					t.Fatalf("%s: %s = %v, want %v", path, rv, got.Num, want)
				}
			case bool:
				if got.Kind != Bool || (got.Num == 1) != rv {
					t.Fatalf("%s: got %v %q, want %v", path, got.Kind, got.Bytes, rv)
				}
			case nil:
				if got.Kind != Null {
					t.Fatalf("%s: got %v, want null", path, got.Kind)
				}
			case []refMember:
				if got.Kind != Object || !json.Valid(got.Bytes) {
					t.Fatalf("%s: got %v %q, want an object", path, got.Kind, got.Bytes)
				}
			case []any:
				if got.Kind != Array || !json.Valid(got.Bytes) {
					t.Fatalf("%s: got %v %q, want an array", path, got.Kind, got.Bytes)
				}
			}
		}
	})
}

// FuzzDecodeMsgpack feeds the scanner arbitrary bytes (it must not panic, hang or report
// impossible values) and, when the input is valid JSON, checks it differentially: the same
// value encoded by the msgpack library and by encoding/json must decode to the same fields.
// (The msgpack library itself is no reference for arbitrary bytes: it trusts container counts
// and allocates whatever they claim.)
func FuzzDecodeMsgpack(f *testing.F) {
	type kv = map[string]any
	for _, seed := range []any{
		kv{"a": "x", "b": kv{"c": 1}, "arr": []any{1, kv{"x": true}}},
		kv{"a": kv{"b": 1.5}, "k k": nil},
		kv{"a": []byte{1, 2}, "arr": []any{int64(-1 << 40), uint64(1 << 63)}},
		[]any{kv{"a": 1}},
		kv{"b": kv{"c": float32(2.5)}},
		kv{"a": time.Unix(1795271574, 123_000_000), "arr": []any{time.Unix(1<<34+5, 7), time.Unix(-5, 1)}},
	} {
		data, err := msgpack.Marshal(seed)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"a":"x","b":{"c":12.5},"arr":[-3,{"x":"y"}],"k k":[1,2]}`))
	newDecoder := func(format Format) (*Decoder, []Value) {
		p := NewPlan(format)
		for _, s := range fuzzPaths {
			if _, err := p.Add(s); err != nil {
				f.Fatal(err)
			}
		}
		return p.NewDecoder(), make([]Value, p.Len())
	}
	dm, om := newDecoder(Msgpack)
	dj, oj := newDecoder(JSON)
	f.Fuzz(func(t *testing.T, doc []byte) {
		if err := dm.Decode(doc, om); err == nil {
			for i, v := range om {
				if v.Kind > Array || (v.Kind == Number && v.Bytes == nil) {
					t.Fatalf("field %d: %v %q", i, v.Kind, v.Bytes)
				}
			}
		}
		var v any
		if json.Unmarshal(doc, &v) != nil {
			return
		}
		mdoc, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		jdoc, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := dm.Decode(mdoc, om); err != nil {
			t.Fatalf("msgpack of %s: %v", jdoc, err)
		}
		if err := dj.Decode(jdoc, oj); err != nil {
			t.Fatalf("json %s: %v", jdoc, err)
		}
		for i := range om {
			g, w := om[i], oj[i]
			if g.Kind != w.Kind {
				t.Fatalf("%s of %s: msgpack %v, json %v", fuzzPaths[i], jdoc, g.Kind, w.Kind)
			}
			switch g.Kind {
			case String, Bool, Null:
				if string(g.Bytes) != string(w.Bytes) {
					t.Fatalf("%s of %s: msgpack %q, json %q", fuzzPaths[i], jdoc, g.Bytes, w.Bytes)
				}
			case Number:
				if g.Num != w.Num {
					t.Fatalf("%s of %s: msgpack %v, json %v", fuzzPaths[i], jdoc, g.Num, w.Num)
				}
			}
		}
	})
}

func FuzzDecodeCLF(f *testing.F) {
	for _, seed := range []string{
		`127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326`,
		`2 123456789010 eni-1 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK`,
		`a "b \" c" [d e] f`,
		`[open`,
	} {
		f.Add([]byte(seed))
	}
	p := NewPlan(CLF)
	for _, pos := range []string{"1", "2", "4", "5", "7"} {
		if _, err := p.Add(pos); err != nil {
			f.Fatal(err)
		}
	}
	d := p.NewDecoder()
	out := make([]Value, p.Len())
	f.Fuzz(func(t *testing.T, line []byte) {
		if err := d.Decode(line, out); err != nil {
			return
		}
		for i, v := range out {
			if v.Kind != Missing && v.Kind != String {
				t.Fatalf("field %d kind %v", i, v.Kind)
			}
			if v.Kind == String && !bytes.Contains(line, v.Bytes) {
				t.Fatalf("field %d %q is not part of the line", i, v.Bytes)
			}
		}
	})
}

// FuzzExactEpoch: a decimal epoch read exactly from its text is the instant its float64 gives,
// within the float's precision, and Value.Time never panics on a number's text.
func FuzzExactEpoch(f *testing.F) {
	for _, seed := range []string{"1795271574.123", "1795271574123.5", "-1.5", "0", "5.", "99999999999.999999999", "1e9", "-"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		_, _ = Value{Kind: Number, Bytes: []byte(text)}.Time()
		sec, ns, ok := exactEpoch([]byte(text))
		if !ok {
			return
		}
		fl, err := strconv.ParseFloat(text, 64)
		if err != nil {
			t.Fatalf("%q read exactly but not as a float: %v", text, err)
		}
		if math.Abs(math.Abs(fl)-1e11) < 1 {
			return // the seconds/milliseconds boundary: the float may round across it, the text does not
		}
		viaFloat, ferr := epochTime(fl)
		exact, eerr := epochParts(sec, ns)
		if (ferr == nil) != (eerr == nil) {
			// Only at the range's edge may the two disagree (the float rounds across it).
			if math.Abs(math.Abs(fl)-maxEpochSeconds) > 1 && math.Abs(math.Abs(fl)/1000-maxEpochSeconds) > 1 {
				t.Fatalf("%q: exact %v, float %v", text, eerr, ferr)
			}
			return
		}
		if eerr != nil {
			return
		}
		tol := 1000 + math.Abs(float64(exact.Unix()))*1e-6 // ns: a microsecond, or float64's 1e-15
		if d := float64(exact.Sub(viaFloat)); math.Abs(d) > tol {
			t.Fatalf("%q: exact %v, float %v", text, exact, viaFloat)
		}
	})
}
