package layout

import (
	"bytes"
	"encoding/json"
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

func FuzzDeadLetterLineMatchesEncodingJSON(f *testing.F) {
	f.Add("events", "0", int64(5), "", "decode", "bad", []byte("k"), []byte("v"), int64(0))
	f.Add("e\u2028", "\xff", int64(-3), "495", "late", "\x00\"\\", []byte{}, []byte(nil), int64(1e18))
	f.Fuzz(func(t *testing.T, stream, id string, off int64, seq, reason, detail string, key, value []byte, ns int64) {
		checkLine(t, pipeline.DeadLetter{
			Partition: pipeline.Partition{Stream: stream, ID: id},
			Position:  pipeline.Position{Offset: off, Seq: seq},
			Time:      time.Unix(0, ns).UTC(), Reason: reason, Detail: detail, Key: key, Value: value,
		})
	})
}

// Letters are grouped by partition in order, whether each partition's letters come together
// (sub-slices) or interleaved (copies).
func TestGroupDeadLetters(t *testing.T) {
	l := func(p string, off int64) pipeline.DeadLetter {
		return pipeline.DeadLetter{Partition: pipeline.Partition{Stream: "e", ID: p}, Position: pipeline.Position{Offset: off}}
	}
	for _, c := range []struct {
		in   []pipeline.DeadLetter
		want string
	}{
		{nil, ""},
		{[]pipeline.DeadLetter{l("0", 1), l("0", 2), l("1", 5), l("2", 3)}, "0:1,2 1:5 2:3"},
		{[]pipeline.DeadLetter{l("0", 1), l("1", 5), l("0", 2), l("1", 6)}, "0:1,2 1:5,6"},
	} {
		var got []string
		for _, g := range GroupDeadLetters(c.in) {
			var offs []string
			for _, x := range g {
				offs = append(offs, x.Position.String())
			}
			got = append(got, g[0].Partition.ID+":"+strings.Join(offs, ","))
		}
		if s := strings.Join(got, " "); s != c.want {
			t.Errorf("%v: got %q, want %q", c.in, s, c.want)
		}
	}
}
