package decode

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// want describes an expected field: Kind and the text of Bytes ("" for Missing).
type want struct {
	kind Kind
	text string
}

func m() want           { return want{kind: Missing} }
func s(x string) want   { return want{String, x} }
func n(x string) want   { return want{Number, x} }
func b(x string) want   { return want{Bool, x} }
func null() want        { return want{Null, "null"} }
func obj(x string) want { return want{Object, x} }
func arr(x string) want { return want{Array, x} }
func check(t *testing.T, name string, got []Value, w []want) {
	t.Helper()
	for i := range w {
		if got[i].Kind != w[i].kind || (w[i].kind != Missing && string(got[i].Bytes) != w[i].text) {
			t.Errorf("%s: field %d = %v %q, want %v %q", name, i, got[i].Kind, got[i].Bytes, w[i].kind, w[i].text)
		}
	}
}

func plan(t testing.TB, f Format, paths ...string) (*Plan, *Decoder, []Value) {
	t.Helper()
	p := NewPlan(f)
	for i, path := range paths {
		got, err := p.Add(path)
		if err != nil {
			t.Fatalf("Add(%q): %v", path, err)
		}
		if got != i {
			t.Fatalf("Add(%q) = %d, want %d (paths must be distinct in tests)", path, got, i)
		}
	}
	return p, p.NewDecoder(), make([]Value, p.Len())
}

func TestPlanAdd(t *testing.T) {
	p := NewPlan(JSON)
	a, _ := p.Add("$.a")
	b, _ := p.Add("$.b")
	a2, _ := p.Add("$.a")
	a3, _ := p.Add("$['a']")
	if a != 0 || b != 1 || a2 != 0 || a3 != 0 || p.Len() != 2 || p.Format() != JSON {
		t.Fatalf("indices %d %d %d %d, Len %d", a, b, a2, a3, p.Len())
	}
	if _, err := p.Add("$.."); err == nil {
		t.Fatal("bad path accepted")
	}
	p.NewDecoder()
	if _, err := p.Add("$.c"); err == nil {
		t.Fatal("Add after NewDecoder accepted")
	}
	if i, err := p.Add("$.b"); err != nil || i != 1 {
		t.Fatalf("Add of a planned path after NewDecoder: %d, %v", i, err)
	}

	c := NewPlan(CLF)
	for _, bad := range []string{"0", "-1", "01", "$.a", "x", "1025"} {
		if _, err := c.Add(bad); err == nil {
			t.Errorf("CLF Add(%q) accepted", bad)
		}
	}
	if i, err := c.Add("7"); err != nil || i != 0 {
		t.Fatalf("CLF Add(7) = %d, %v", i, err)
	}
}

func TestDecodeJSON(t *testing.T) {
	paths := []string{"$.a", "$.b.c", "$.arr[1]", "$.arr[0][1]", "$.o", "$.u"}
	cases := []struct {
		name, doc string
		want      []want
	}{
		{"flat", `{"a":"x","b":{"c":1.5e3},"arr":[[1,2],"y"],"o":{},"u":true}`,
			[]want{s("x"), n("1.5e3"), s("y"), n("2"), obj("{}"), b("true")}},
		{"whitespace", " {\n\t\"a\" : \"x\" ,\r\n \"u\":null } \n",
			[]want{s("x"), m(), m(), m(), m(), null()}},
		{"escapes", `{"a":"q\"b\\s\/n\nt\tu\u00e9\ud83d\ude00"}`,
			[]want{s("q\"b\\s/n\nt\tué😀"), m(), m(), m(), m(), m()}},
		{"lone surrogate", `{"a":"x\ud800y"}`, []want{s("x\uFFFDy"), m(), m(), m(), m(), m()}},
		{"raw unicode", `{"a":"héllo wörld ✓"}`, []want{s("héllo wörld ✓"), m(), m(), m(), m(), m()}},
		{"escaped key", `{"\u0061":"x"}`, []want{s("x"), m(), m(), m(), m(), m()}},
		{"missing", `{"z":1}`, []want{m(), m(), m(), m(), m(), m()}},
		{"empty object", `{}`, []want{m(), m(), m(), m(), m(), m()}},
		{"wrong type: step into string", `{"b":"c","arr":"no"}`, []want{m(), m(), m(), m(), m(), m()}},
		{"wrong type: index into object", `{"arr":{"1":"x"}}`, []want{m(), m(), m(), m(), m(), m()}},
		{"index past end", `{"arr":[[0]]}`, []want{m(), m(), m(), m(), m(), m()}},
		{"root is an array", `[1,2]`, []want{m(), m(), m(), m(), m(), m()}},
		{"root is a string", `"a"`, []want{m(), m(), m(), m(), m(), m()}},
		{"duplicate: first wins", `{"a":"first","a":"second","u":1}`, []want{s("first"), m(), m(), m(), m(), n("1")}},
		{"duplicate objects: each path first wins", `{"b":{"x":1},"b":{"c":2},"b":{"c":3}}`,
			[]want{m(), n("2"), m(), m(), m(), m()}},
		{"object and array captured raw", `{"o":{"k":[1,{"z":"}"}]},"a":[ 1, 2 ]}`,
			[]want{arr("[ 1, 2 ]"), m(), m(), m(), obj(`{"k":[1,{"z":"}"}]}`), m()}},
		{"numbers", `{"a":-0.5,"u":0,"b":{"c":-12E-3}}`, []want{n("-0.5"), n("-12E-3"), m(), m(), m(), n("0")}},
		{"skipped nesting", `{"x":[[[{"y":[{}]}]]],"a":"k"}`, []want{s("k"), m(), m(), m(), m(), m()}},
		{"false", `{"u":false}`, []want{m(), m(), m(), m(), m(), b("false")}},
	}
	_, d, out := plan(t, JSON, paths...)
	for _, tc := range cases {
		if err := d.Decode([]byte(tc.doc), out); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		check(t, tc.name, out, tc.want)
	}
	// Number values.
	if err := d.Decode([]byte(`{"a":12.5,"u":"200"}`), out); err != nil {
		t.Fatal(err)
	}
	if out[0].Num != 12.5 {
		t.Errorf("Num = %v", out[0].Num)
	}
	if f, ok := out[5].Float(); !ok || f != 200 {
		t.Errorf("Float of string 200 = %v %v", f, ok)
	}
}

// TestDecodeJSONMemberValues covers the string and number cases the object member loop settles
// itself: the documents are long enough for plainRun to take the strings.
func TestDecodeJSONMemberValues(t *testing.T) {
	const pad = `"pad":"................................"`
	_, d, out := plan(t, JSON, "$.s", "$.n", "$.big", "$.o.s")
	cases := []struct {
		name, doc string
		want      []want
		nums      []float64 // Num of each field
	}{
		{"first wins", `{"s":"first value","n":12.5,"s":"second value","n":13,` + pad + `}`,
			[]want{s("first value"), n("12.5"), m(), m()}, []float64{0, 12.5, 0, 0}},
		{"not exact, converted", `{"big":123456789012345678901,"n":-1e400,` + pad + `}`,
			[]want{m(), n("-1e400"), n("123456789012345678901"), m()},
			[]float64{0, math.Inf(-1), 123456789012345678901, 0}},
		{"nested, early stop", `{"o":{"s":"inner value","x":1},"s":"outer","big":0,"n":7,"z":` + pad + `}`,
			[]want{s("outer"), n("7"), n("0"), s("inner value")}, []float64{0, 7, 0, 0}},
		{"Num cleared between records", `{"n":"text value",` + pad + `}`,
			[]want{m(), s("text value"), m(), m()}, []float64{0, 0, 0, 0}},
	}
	for _, tc := range cases {
		if err := d.Decode([]byte(tc.doc), out); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		check(t, tc.name, out, tc.want)
		for i, f := range tc.nums {
			if out[i].Num != f {
				t.Errorf("%s: field %d Num = %v, want %v", tc.name, i, out[i].Num, f)
			}
		}
	}
	// The scan stops at the last field: what follows is not validated.
	if err := d.Decode([]byte(`{"s":"string value","n":1,"big":2,"o":{"s":"last value"},]`), out); err != nil {
		t.Errorf("early stop: %v", err)
	}
	for _, doc := range []string{`{"s":"string value","n":-,` + pad + `}`, `{"s":"string value","n":1.,` + pad + `}`} {
		if err := d.Decode([]byte(doc), out); err == nil {
			t.Errorf("%s: accepted", doc)
		}
	}
}

func TestDecodeJSONMalformed(t *testing.T) {
	_, d, out := plan(t, JSON, "$.a", "$.missing")
	bad := map[string]string{
		``:                 "empty document",
		`   `:              "empty document",
		`{`:                "member name",
		`{"a"}`:            "expected ':'",
		`{"a":}`:           "invalid character",
		`{"a":1,}`:         "member name",
		`{"a":1 "b":2}`:    "expected ','",
		`{"a":[1,]}`:       "invalid character",
		`{"a":[1 2]}`:      "expected ','",
		`{"a":"x`:          "unterminated string",
		`{"a":"\x"}`:       "invalid escape",
		`{"a":"\u12"}`:     "invalid \\u escape",
		"{\"a\":\"\x01\"}": "control character",
		`{"a":01}`:         "expected ','",
		`{"a":1.}`:         "no digits after",
		`{"a":1e}`:         "exponent",
		`{"a":-}`:          "invalid number",
		`{"a":tru}`:        "invalid literal",
		`{"a":nul}`:        "invalid literal",
		`{"a":1}x`:         "data after the document",
		`{"a":1}{}`:        "data after the document",
		`{'a':1}`:          "member name",
		strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1): "nesting too deep",
	}
	for doc, wantErr := range bad {
		err := d.Decode([]byte(doc), out)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("Decode(%.40q) = %v, want error containing %q", doc, err, wantErr)
		}
	}
	// Nesting up to MaxDepth is fine.
	deep := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if err := d.Decode([]byte(deep), out); err != nil {
		t.Errorf("depth %d: %v", MaxDepth, err)
	}
}

func TestDecodeJSONStopsEarly(t *testing.T) {
	// Documented: once every field is found, the rest is not validated.
	_, d, out := plan(t, JSON, "$.a")
	if err := d.Decode([]byte(`{"a":1, this is not json`), out); err != nil {
		t.Fatalf("early stop: %v", err)
	}
	check(t, "early", out, []want{n("1")})
	// A document missing a field is validated whole.
	_, d2, out2 := plan(t, JSON, "$.a", "$.b")
	if err := d2.Decode([]byte(`{"a":1, this is not json`), out2); err == nil {
		t.Fatal("malformed tail accepted while a field was still missing")
	}
}

func TestDecodeOutTooShort(t *testing.T) {
	_, d, _ := plan(t, JSON, "$.a", "$.b")
	if err := d.Decode([]byte(`{}`), make([]Value, 1)); err == nil {
		t.Fatal("short out accepted")
	}
}

func mp(t testing.TB, v any) []byte {
	t.Helper()
	data, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDecodeMsgpack(t *testing.T) {
	paths := []string{"$.a", "$.b.c", "$.arr[1]", "$.arr[0][1]", "$.o", "$.u"}
	_, d, out := plan(t, Msgpack, paths...)
	type kv = map[string]any
	cases := []struct {
		name string
		doc  any
		want []want
	}{
		{"flat", kv{"a": "x", "b": kv{"c": 1500.0}, "arr": []any{[]any{1, 2}, "y"}, "u": true},
			[]want{s("x"), n("1500"), s("y"), n("2"), m(), b("true")}},
		{"unicode", kv{"a": "héllo ✓😀"}, []want{s("héllo ✓😀"), m(), m(), m(), m(), m()}},
		{"null and false", kv{"a": nil, "u": false}, []want{null(), m(), m(), m(), m(), b("false")}},
		{"ints", kv{"a": int64(-200000), "u": uint64(18446744073709551615)},
			[]want{n("-200000"), m(), m(), m(), m(), n("18446744073709551615")}},
		{"floats", kv{"a": 12.5, "u": float32(0.25), "b": kv{"c": 1e21}},
			[]want{n("12.5"), n("1e+21"), m(), m(), m(), n("0.25")}},
		{"small ints", kv{"a": int8(-5), "u": 7}, []want{n("-5"), m(), m(), m(), m(), n("7")}},
		{"bytes", kv{"a": []byte("raw")}, []want{s("raw"), m(), m(), m(), m(), m()}},
		{"missing", kv{"z": 1}, []want{m(), m(), m(), m(), m(), m()}},
		{"wrong types", kv{"b": "c", "arr": kv{"1": "x"}}, []want{m(), m(), m(), m(), m(), m()}},
		{"index past end", kv{"arr": []any{[]any{0}}}, []want{m(), m(), m(), m(), m(), m()}},
		{"root is an array", []any{1, 2}, []want{m(), m(), m(), m(), m(), m()}},
		{"non-string keys", map[int]string{1: "a"}, []want{m(), m(), m(), m(), m(), m()}},
	}
	for _, tc := range cases {
		if err := d.Decode(mp(t, tc.doc), out); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		check(t, tc.name, out, tc.want)
	}

	// A raw object is its msgpack bytes; duplicate keys: first wins (hand-built map).
	inner := mp(t, kv{"k": 1})
	doc := []byte{0x83, 0xa1, 'o'}
	doc = append(doc, inner...)
	doc = append(doc, 0xa1, 'a', 0xa5, 'f', 'i', 'r', 's', 't')
	doc = append(doc, 0xa1, 'a', 0xa6, 's', 'e', 'c', 'o', 'n', 'd')
	if err := d.Decode(doc, out); err != nil {
		t.Fatal(err)
	}
	check(t, "raw and duplicate", out, []want{s("first"), m(), m(), m(), obj(string(inner)), m()})
	if out[0].Kind != String || out[4].Num != 0 {
		t.Fatal("unexpected")
	}
}

func TestDecodeMsgpackMalformed(t *testing.T) {
	_, d, out := plan(t, Msgpack, "$.a", "$.missing")
	bad := map[string][]byte{
		"empty":               {},
		"0xc1":                {0x81, 0xa1, 'a', 0xc1},
		"truncated str":       {0x81, 0xa1, 'a', 0xa5, 'x'},
		"truncated map":       {0x82, 0xa1, 'a', 0x01},
		"huge array count":    {0x81, 0xa1, 'z', 0xdd, 0xff, 0xff, 0xff, 0xff},
		"truncated float64":   {0x81, 0xa1, 'a', 0xcb, 0, 0},
		"truncated str32 len": {0x81, 0xa1, 'a', 0xdb, 0},
		"trailing":            {0x80, 0x00},
	}
	for name, doc := range bad {
		if err := d.Decode(doc, out); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	var deep []byte
	for range MaxDepth + 1 {
		deep = append(deep, 0x91)
	}
	deep = append(deep, 0x90)
	if err := d.Decode(deep, out); err == nil || !strings.Contains(err.Error(), "too deep") {
		t.Errorf("deep: %v", err)
	}
}

func TestDecodeCLF(t *testing.T) {
	// Positions as CloudWatch numbers them (1-based).
	_, d, out := plan(t, CLF, "1", "3", "4", "5", "6", "7", "9")
	line := `127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 "-" "Mozilla/5.0 (X11; \"Linux\")"` + "\n"
	if err := d.Decode([]byte(line), out); err != nil {
		t.Fatal(err)
	}
	check(t, "combined", out, []want{s("127.0.0.1"), s("frank"), s("10/Oct/2000:13:55:36 -0700"),
		s("GET /a.gif HTTP/1.0"), s("200"), s("2326"), s(`Mozilla/5.0 (X11; \"Linux\")`)})
	if f, ok := out[4].Float(); !ok || f != 200 {
		t.Errorf("status as number: %v %v", f, ok)
	}

	// VPC flow log: plain space separation, as in the CloudWatch rule examples.
	_, d2, out2 := plan(t, CLF, "4", "5", "10", "13", "15")
	flow := "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"
	if err := d2.Decode([]byte(flow), out2); err != nil {
		t.Fatal(err)
	}
	check(t, "flow", out2, []want{s("172.31.16.139"), s("172.31.16.21"), s("4249"), s("ACCEPT"), m()})

	// Multiple spaces and tabs separate one field; malformed groups are errors.
	_, d3, out3 := plan(t, CLF, "2", "3")
	if err := d3.Decode([]byte("a  \t b   c"), out3); err != nil {
		t.Fatal(err)
	}
	check(t, "spaces", out3, []want{s("b"), s("c")})
	for _, badLine := range []string{`a [unterminated b`, `a "unterminated b`} {
		if err := d3.Decode([]byte(badLine), out3); err == nil {
			t.Errorf("%q accepted", badLine)
		}
	}
}

func TestDecodeNoFields(t *testing.T) {
	for _, f := range []Format{JSON, Msgpack, CLF} {
		p := NewPlan(f)
		if err := p.NewDecoder().Decode([]byte("whatever"), nil); err != nil {
			t.Errorf("%v: %v", f, err)
		}
	}
}

func TestAppendFloatMatchesStrconv(t *testing.T) {
	vals := []float64{0, 1, -1, 12.5, 0.1, 0.3, 0.1 + 0.2, 1.000001, 123456.789, -0.000123, 1e-6, 9.999999e-7,
		1e20, 1e21, 4503599627370495.5, 9007199254740993, 2.5e-5, 1.0 / 3, 5123, 0.015625}
	for x := 1.0; x < 1e7; x = x*1.37 + 0.013 {
		vals = append(vals, x, -x, x/1000, float64(int64(x*100))/100)
	}
	for _, f := range vals {
		got := string(appendFloat(nil, f, 64))
		want := strconv.FormatFloat(f, 'f', -1, 64)
		if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
			want = strconv.FormatFloat(f, 'e', -1, 64)
		}
		if got != want {
			t.Errorf("appendFloat(%v) = %s, want %s", f, got, want)
		}
	}
}
