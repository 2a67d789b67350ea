package layout

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline"
)

// encodeStd is the reference: encoding/json with HTML escaping off, as the lines were written
// before the hand-written encoder.
func encodeStd(t testing.TB, l pipeline.DeadLetter) ([]byte, error) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(DeadLetterLine{
		Stream: l.Partition.Stream, Partition: l.Partition.ID, Position: l.Position.String(),
		Time: l.Time, Reason: l.Reason, Detail: l.Detail, Key: l.Key, Value: l.Value,
	})
	return buf.Bytes(), err
}

func checkLine(t testing.TB, l pipeline.DeadLetter) {
	t.Helper()
	want, werr := encodeStd(t, l)
	got, gerr := appendDeadLetterLine(nil, &l)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("errors differ: encoding/json %v, ours %v", werr, gerr)
	}
	if werr == nil && !bytes.Equal(got, want) {
		t.Fatalf("line differs from encoding/json:\n got %s\nwant %s", got, want)
	}
}

func TestDeadLetterLineMatchesEncodingJSON(t *testing.T) {
	base := pipeline.DeadLetter{
		Partition: pipeline.Partition{Stream: "events", ID: "3"},
		Position:  pipeline.Position{Offset: 12345},
		Time:      time.Date(2026, 11, 21, 13, 0, 0, 123456789, time.UTC),
		Reason:    "decode", Detail: `decode json: unexpected "x" at offset 4`,
		Key: []byte("user-1"), Value: []byte(`{"ts" "2026"}`),
	}
	cases := map[string]func(*pipeline.DeadLetter){
		"plain":          func(*pipeline.DeadLetter) {},
		"no key":         func(l *pipeline.DeadLetter) { l.Key = nil },
		"nil value":      func(l *pipeline.DeadLetter) { l.Value = nil },
		"empty value":    func(l *pipeline.DeadLetter) { l.Value = []byte{} },
		"kinesis":        func(l *pipeline.DeadLetter) { l.Position = pipeline.Position{Offset: 7, Seq: "4959", Sub: 2} },
		"negative":       func(l *pipeline.DeadLetter) { l.Position.Offset = -1 },
		"zone":           func(l *pipeline.DeadLetter) { l.Time = l.Time.In(time.FixedZone("x", 3600+1800)) },
		"zero time":      func(l *pipeline.DeadLetter) { l.Time = time.Time{} },
		"year 10000":     func(l *pipeline.DeadLetter) { l.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
		"escapes":        func(l *pipeline.DeadLetter) { l.Detail = "a\"b\\c\b\f\n\r\t\x00\x1f<>&\u2028\u2029é\xff\xfe" },
		"odd partition":  func(l *pipeline.DeadLetter) { l.Partition.ID = "shardId-000000000001\x7f" },
		"binary payload": func(l *pipeline.DeadLetter) { l.Value = []byte{0, 1, 2, 0xff, 0xfe, '"'} },
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			l := base
			mod(&l)
			checkLine(t, l)
		})
	}
}

// Letters encoded one after another reuse the parts they share with the letter before (the
// partition, the time, the reason and detail): each line is still encoding/json's, whatever
// changes from one letter to the next.
func TestDeadLetterLinesInSequenceMatchEncodingJSON(t *testing.T) {
	at := time.Date(2026, 11, 21, 13, 0, 0, 123456789, time.UTC)
	p3, p4 := pipeline.Partition{Stream: "events", ID: "3"}, pipeline.Partition{Stream: "events", ID: "4"}
	l := func(p pipeline.Partition, off int64, tm time.Time, reason, detail string) pipeline.DeadLetter {
		return pipeline.DeadLetter{Partition: p, Position: pipeline.Position{Offset: off}, Time: tm, Reason: reason, Detail: detail, Value: []byte("{")}
	}
	letters := []pipeline.DeadLetter{
		l(p3, 1, at, "decode", "bad"),
		l(p3, 2, at, "decode", "bad"),
		l(p3, 3, at.Add(time.Millisecond), "decode", "bad"),
		l(p3, 4, at.Add(time.Millisecond).In(time.FixedZone("x", 3600)), "decode", "bad"), // same instant, another zone
		l(p4, 1, at, "decode", "bad"),
		l(p4, 2, at, "decode", "worse"),
		l(p4, 3, at, "late", "worse"),
		l(p4, 4, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), "late", "worse"), // refused
		l(p4, 5, at, "late", "worse"),
		l(pipeline.Partition{Stream: "orders", ID: "3"}, 6, at, "late", "worse"),
	}
	var enc lineEncoder
	for _, x := range letters {
		want, werr := encodeStd(t, x)
		got, gerr := enc.append([]byte("prefix"), &x)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("%v: errors differ: encoding/json %v, ours %v", x, werr, gerr)
		}
		if werr == nil && string(got) != "prefix"+string(want) {
			t.Errorf("line differs from encoding/json:\n got %s\nwant prefix%s", got, want)
		}
	}
}

func FuzzDeadLetterLineMatchesEncodingJSON(f *testing.F) {
	f.Add("events", "0", int64(5), "", "decode", "bad", []byte("k"), []byte("v"), int64(0))
	f.Add("e\u2028", "\xff", int64(-3), "495", "late", "\x00\"\\", []byte{}, []byte(nil), int64(1e18))
	f.Fuzz(func(t *testing.T, stream, id string, off int64, seq, reason, detail string, key, value []byte, ns int64) {
		l := pipeline.DeadLetter{
			Partition: pipeline.Partition{Stream: stream, ID: id},
			Position:  pipeline.Position{Offset: off, Seq: seq},
			Time:      time.Unix(0, ns).UTC(), Reason: reason, Detail: detail, Key: key, Value: value,
		}
		checkLine(t, l)
		// Through one encoder, after a letter sharing none of its parts and before letters
		// sharing some or all of them: each line is still encoding/json's.
		other := pipeline.DeadLetter{Partition: pipeline.Partition{Stream: "x" + stream, ID: id}, Time: time.Unix(0, ns+1).UTC(),
			Reason: reason + "x", Detail: detail}
		next := l
		next.Position.Offset++
		next.Detail += "x"
		var enc lineEncoder
		for _, x := range []pipeline.DeadLetter{other, l, l, next, other} {
			want, werr := encodeStd(t, x)
			got, gerr := enc.append(nil, &x)
			if (werr != nil) != (gerr != nil) {
				t.Fatalf("errors differ: encoding/json %v, ours %v", werr, gerr)
			}
			if werr == nil && !bytes.Equal(got, want) {
				t.Fatalf("line differs from encoding/json in sequence:\n got %s\nwant %s", got, want)
			}
		}
	})
}

// Letters are grouped into one object per stream, each partition's letters together and in
// order, whether they come so (sub-slices) or interleaved (copies).
func TestGroupDeadLetters(t *testing.T) {
	l := func(stream, p string, off int64) pipeline.DeadLetter {
		return pipeline.DeadLetter{Partition: pipeline.Partition{Stream: stream, ID: p}, Position: pipeline.Position{Offset: off}}
	}
	for _, c := range []struct {
		in   []pipeline.DeadLetter
		want string
	}{
		{nil, ""},
		{[]pipeline.DeadLetter{l("e", "0", 1), l("e", "0", 2), l("e", "1", 5), l("e", "2", 3)}, "e[0:1 0:2 1:5 2:3]"},
		{[]pipeline.DeadLetter{l("e", "0", 1), l("e", "1", 5), l("e", "0", 2), l("e", "1", 6)}, "e[0:1 0:2 1:5 1:6]"},
		{[]pipeline.DeadLetter{l("e", "0", 1), l("f", "0", 5), l("f", "1", 2)}, "e[0:1] f[0:5 1:2]"},
		{[]pipeline.DeadLetter{l("e", "0", 1), l("f", "0", 5), l("e", "1", 2)}, "e[0:1 1:2] f[0:5]"},
	} {
		var got []string
		for _, g := range GroupDeadLetters(c.in) {
			var ls []string
			for _, x := range g {
				if x.Partition.Stream != g[0].Partition.Stream {
					t.Errorf("%v: an object holds streams %s and %s", c.in, g[0].Partition.Stream, x.Partition.Stream)
				}
				ls = append(ls, x.Partition.ID+":"+x.Position.String())
			}
			got = append(got, g[0].Partition.Stream+"["+strings.Join(ls, " ")+"]")
		}
		if s := strings.Join(got, " "); s != c.want {
			t.Errorf("%v: got %q, want %q", c.in, s, c.want)
		}
	}
}

// An object of one partition's letters is named by its first and last position; one of
// several partitions by its first letter and a hash of its contents: the same letters get the
// same key, and other letters starting at the same one (a replay grouping them differently)
// another, so neither write overwrites the other's letters.
func TestDeadLetterKey(t *testing.T) {
	at := time.Date(2026, 11, 21, 13, 5, 0, 0, time.UTC)
	l := func(p string, off int64) pipeline.DeadLetter {
		return pipeline.DeadLetter{Partition: pipeline.Partition{Stream: "events", ID: p}, Position: pipeline.Position{Offset: off}, Time: at}
	}
	one := DeadLetterKey([]pipeline.DeadLetter{l("3", 17), l("3", 42)}, true)
	if want := "kind=deadletter/stream=events/dt=2026-11-21/hour=13/3_17_42.json.gz"; one != want {
		t.Errorf("one partition: got %s, want %s", one, want)
	}
	several := []pipeline.DeadLetter{l("3", 17), l("3", 42), l("4", 9)}
	key := DeadLetterKey(several, false)
	if !regexp.MustCompile(`^kind=deadletter/stream=events/dt=2026-11-21/hour=13/3_17_h[0-9a-f]{16}\.json$`).MatchString(key) {
		t.Errorf("several partitions: got %s", key)
	}
	if again := DeadLetterKey(slices.Clone(several), false); again != key {
		t.Errorf("the same letters got %s, then %s", key, again)
	}
	for _, other := range [][]pipeline.DeadLetter{
		{l("3", 17), l("4", 9)},
		{l("3", 17), l("3", 42), l("4", 9), l("4", 10)},
		{l("3", 17), l("3", 42), l("5", 9)},
		{l("3", 17), l("3", 30), l("3", 42), l("4", 9)},
	} {
		if k := DeadLetterKey(other, false); k == key {
			t.Errorf("%v and %v share the key %s", several, other, k)
		}
	}
}
