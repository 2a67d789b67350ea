package layout

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline"
)

func TestPartialKey(t *testing.T) {
	start := time.Date(2026, 11, 21, 13, 0, 0, 0, time.FixedZone("x", 3600))
	p := pipeline.Partition{Stream: "orders/eu", ID: "shardId-000000000003"}
	got := PartialKey(start, p)
	want := "kind=partial/window=20261121T120000Z/stream=orders%2Feu/partition=shardId-000000000003.msgpack"
	if got != want {
		t.Fatalf("PartialKey:\n got %s\nwant %s", got, want)
	}
	if !strings.HasPrefix(got, PartialWindowPrefix(start)) || !strings.HasPrefix(got, PartialPrefix) {
		t.Error("the key is not under its window's prefix")
	}
	s, q, ok := ParsePartialKey(got)
	if !ok || !s.Equal(start) || q != p {
		t.Errorf("ParsePartialKey = %v %v %v", s, q, ok)
	}
	w := pipeline.Window{Start: start, End: start.Add(time.Minute)}
	if k := PublishedKey(w); k != "kind=published/window=20261121T120000Z.json" {
		t.Errorf("PublishedKey = %s", k)
	}
}

// Keys sort by window first, in time order, so one listing from a window's prefix returns that
// window and every later one, in order.
func TestPartialKeysSortByWindow(t *testing.T) {
	t0 := time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC)
	var keys []string
	for i := range 5 {
		for _, id := range []string{"10", "2", "zz"} {
			keys = append(keys, PartialKey(t0.Add(time.Duration(4-i)*time.Minute), pipeline.Partition{Stream: "s", ID: id}))
		}
	}
	sort.Strings(keys)
	var last time.Time
	for _, k := range keys {
		s, _, ok := ParsePartialKey(k)
		if !ok || s.Before(last) {
			t.Fatalf("%s out of window order (after %v)", k, last)
		}
		last = s
	}
}

func TestParsePartialKeyRefuses(t *testing.T) {
	good := PartialKey(time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC), pipeline.Partition{Stream: "s", ID: "1"})
	for _, k := range []string{
		"",
		strings.Replace(good, "partial", "report", 1),
		strings.Replace(good, ".msgpack", ".json", 1),
		strings.Replace(good, "20261121T130000Z", "2026-11-21", 1),
		strings.Replace(good, "stream=s", "stream=a%2f", 1), // lowercase escape
		strings.Replace(good, "stream=s", "stream=%61", 1),  // an escaped safe byte
		strings.Replace(good, "stream=s", "stream=a%2", 1),  // cut short
		strings.Replace(good, "stream=s", "stream=a b", 1),  // unescaped
		strings.Replace(good, "stream=s", "stream=", 1),     // empty, not "%"
		"kind=partial/window=20261121T130000Z/stream=s/partition=1.msgpack.tmp-123",
		"kind=partial/window=20261121T130000Z/.tmp-123",
	} {
		if _, _, ok := ParsePartialKey(k); ok {
			t.Errorf("ParsePartialKey(%q) accepted it", k)
		}
	}
}

func FuzzUnescapeInvertsEscape(f *testing.F) {
	f.Add("a/b c")
	f.Add("")
	f.Add("%")
	f.Add("%2F")
	f.Fuzz(func(t *testing.T, s string) {
		if u, ok := Unescape(Escape(s)); !ok || u != s {
			t.Fatalf("Unescape(Escape(%q)) = %q, %v", s, u, ok)
		}
		if u, ok := Unescape(s); ok && Escape(u) != s {
			t.Fatalf("Unescape(%q) = %q accepted a form Escape does not write (%q)", s, u, Escape(u))
		}
	})
}
