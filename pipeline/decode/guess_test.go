package decode

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// guessPaths plan members whose names are short, exactly a word with the quote and colon
// ("tenant"), between one and two words ("latency_ms"), longer than two words
// ("a_very_long_member_name"), nested, and a prefix of one another ("ten").
var guessPaths = []string{"$.ts", "$.tenant", "$.ten", "$.latency_ms", "$.a_very_long_member_name", "$.b.c", "$.status"}

// sameDecode decodes doc with a Decoder that has just decoded teacher (its guesses learned
// from it) and with a fresh one, and fails unless both give the same error-ness and fields.
func sameDecode(t *testing.T, f Format, teacher, doc []byte) {
	t.Helper()
	_, taught, out := plan(t, f, guessPaths...)
	_ = taught.Decode(teacher, out) // teaching; its result does not matter
	errT := taught.Decode(doc, out)
	_, fresh, want := plan(t, f, guessPaths...)
	errF := fresh.Decode(doc, want)
	if (errT == nil) != (errF == nil) {
		t.Fatalf("after %q, %q: error %v, a fresh decoder's %v", teacher, doc, errT, errF)
	}
	if errF != nil {
		return
	}
	for i := range want {
		g, w := out[i], want[i]
		if g.Kind != w.Kind || string(g.Bytes) != string(w.Bytes) || g.Num != w.Num {
			t.Fatalf("after %q, %q: %s = %v %q, a fresh decoder's %v %q", teacher, doc, guessPaths[i], g.Kind, g.Bytes, w.Kind, w.Bytes)
		}
	}
}

// A Decoder guesses each member from the record before (guess.go); whatever it learned, a
// record decodes exactly as a fresh Decoder decodes it.
func TestGuessesNeverChangeResultsJSON(t *testing.T) {
	const shape = `{"ts":"2026-11-21T08:00:00Z","tenant":"t-1","ten":1,"latency_ms":1.5,"a_very_long_member_name":2,"b":{"c":3},"status":200}`
	for _, c := range []struct{ teacher, doc string }{
		{shape, shape},
		// Other members at the guessed positions, and the guessed names elsewhere.
		{shape, `{"status":500,"b":{"c":4},"ten":2,"tenant":"t-2","ts":"2026-11-21T08:00:01Z"}`},
		// A name that starts like the guessed one, or that the guessed one starts like.
		{shape, `{"tsx":1,"tenan":"x","tenantt":"y","latency_mx":2,"ts":"2026-11-21T08:00:02Z"}`},
		{shape, `{"ts":1,"tenant":"x","ten":2,"latency_mx":3,"latency_ms":4}`},
		// Whitespace around the colon: the guess without its colon, or no guess.
		{`{"ts" : 1, "tenant": "a"}`, `{"ts":2,"tenant":"b"}`},
		{shape, `{"ts" :3, "tenant" : "c", "ten": 4}`},
		// An escaped name equal to a guessed one is not a guess's spelling, and still found.
		{shape, `{"t\u0073":"2026-11-21T08:00:03Z","tenan\u0074":"e"}`},
		{`{"t\u0073":5}`, `{"ts":6}`},
		// Truncated at a guessed name, or just after it.
		{shape, `{"ts":"2026-11-21T08:00:00Z","tenant`},
		{shape, `{"ts":"2026-11-21T08:00:00Z","tenant":`},
		{shape, `{"ts"`},
		{shape, `{"ts":`},
		// A value that looks like a name at a guessed position.
		{shape, `{"ts":"tenant\":","tenant":"f"}`},
		// Nested objects keep guesses of their own.
		{`{"b":{"c":1,"d":2}}`, `{"b":{"d":3,"c":4}}`},
		{`{"b":{"c":1}}`, `{"c":9,"b":{"c":8}}`},
		// Duplicates: the first value stays, guessed or not.
		{shape, `{"ts":1,"ts":2,"tenant":"g","tenant":"h"}`},
		// More members than positions are guessed.
		{manyMembers(maxGuessMembers + 5), manyMembers(maxGuessMembers + 5)},
	} {
		sameDecode(t, JSON, []byte(c.teacher), []byte(c.doc))
	}
}

func manyMembers(n int) string {
	s := "{"
	for i := range n {
		s += fmt.Sprintf(`"m%d":%d,`, i, i)
	}
	return s + `"ts":"x","tenant":"y"}`
}

func TestGuessesNeverChangeResultsMsgpack(t *testing.T) {
	type kv = map[string]any
	enc := func(v any) []byte {
		t.Helper()
		b, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// Structs keep their members in order (maps would not).
	type event struct {
		TS      string  `msgpack:"ts"`
		Tenant  string  `msgpack:"tenant"`
		Ten     int     `msgpack:"ten"`
		Latency float64 `msgpack:"latency_ms"`
		Long    int     `msgpack:"a_very_long_member_name"`
		B       kv      `msgpack:"b"`
		Status  int     `msgpack:"status"`
	}
	type other struct {
		TS      string  `msgpack:"ts"`
		Tenant  string  `msgpack:"tenant"`
		Ten     int     `msgpack:"ten"`
		Latency float64 `msgpack:"latency_mx"`
		Long    int     `msgpack:"a_very_long_member_name"`
	}
	shape := enc(event{"2026-11-21T08:00:00Z", "t-1", 1, 1.5, 2, kv{"c": 3}, 200})
	for _, c := range [][2][]byte{
		{shape, shape},
		{shape, enc(kv{"status": 500, "b": kv{"c": 4}, "ten": 2, "tenant": "t-2"})},
		{shape, enc(kv{"tenan": "x", "tenantt": "y", "te": 2})},
		{shape, enc(other{"x", "y", 1, 2.5, 3})},
		{shape, shape[:len(shape)/2]},
		{shape, enc([]any{kv{"ts": 1}})},
		{enc(kv{"b": kv{"c": 1, "d": 2}}), enc(kv{"b": kv{"d": 3, "c": 4}})},
		{enc(kv{"b": kv{"c": 1}}), enc(kv{"c": 9, "b": kv{"c": 8}})},
	} {
		sameDecode(t, Msgpack, c[0], c[1])
	}
}

// FuzzDecodeGuessed decodes a document with a Decoder that has just decoded another one and
// compares the fields with a fresh Decoder's, in both formats (a pair of JSON documents is
// also tried as msgpack, through encoding/json's reading of them).
func FuzzDecodeGuessed(f *testing.F) {
	f.Add([]byte(`{"ts":1,"tenant":"a","b":{"c":2}}`), []byte(`{"ts":3,"tenant":"b","b":{"c":4}}`))
	f.Add([]byte(`{"ts":1,"tenant":"a"}`), []byte(`{"tenant":"b","ts":3}`))
	f.Add([]byte(`{"ts" : 1}`), []byte(`{"ts":1}`))
	f.Add([]byte(`{"a_very_long_member_name":1,"ten":2}`), []byte(`{"a_very_long_member_name":3,"ten":4}`))
	f.Fuzz(func(t *testing.T, teacher, doc []byte) {
		sameDecode(t, JSON, teacher, doc)
		sameDecode(t, Msgpack, teacher, doc)
		if mt, md, ok := asMsgpack(teacher, doc); ok {
			sameDecode(t, Msgpack, mt, md)
		}
	})
}

// asMsgpack re-encodes two JSON documents as msgpack, ok false unless both are valid JSON.
func asMsgpack(a, b []byte) (ma, mb []byte, ok bool) {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return nil, nil, false
	}
	ma, err1 := msgpack.Marshal(va)
	mb, err2 := msgpack.Marshal(vb)
	return ma, mb, err1 == nil && err2 == nil
}
