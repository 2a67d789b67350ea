package layout

import (
	"strings"
	"time"

	"github.com/weirstream/weir/pipeline"
)

// The fleet's shared objects: each partition's partial of each window, and the marker that
// says a window's metrics were published.
//
//	kind=partial/window=20261121T130000Z/stream=events/partition=7.msgpack
//	kind=published/window=20261121T130000Z.json
//
// A partial's key is made of the window and the partition only, so a replay, by whichever
// worker owns the partition then, overwrites it. The window comes first and its stamp sorts as
// time does, so one prefix lists a window's partials, and listing from a window's prefix on
// returns that window's partials and every later window's, in window order.
const (
	// PartialPrefix begins every partial's key.
	PartialPrefix = "kind=partial/"
	// PartialExt ends every partial's key.
	PartialExt = ".msgpack"
)

// PartialWindowPrefix is the prefix of every partial of the window starting at start.
func PartialWindowPrefix(start time.Time) string {
	return PartialPrefix + "window=" + start.UTC().Format(stamp) + "/"
}

// PartialKey is the key of partition p's partial of the window starting at start.
func PartialKey(start time.Time, p pipeline.Partition) string {
	return PartialWindowPrefix(start) + "stream=" + Escape(p.Stream) + "/partition=" + Escape(p.ID) + PartialExt
}

// ParsePartialKey is the inverse of PartialKey. It accepts only keys PartialKey writes
// (canonical escapes, whole seconds), so anything else under the prefix — a temporary file, an
// object someone copied there — is not mistaken for a partial.
func ParsePartialKey(key string) (start time.Time, p pipeline.Partition, ok bool) {
	rest, ok := strings.CutPrefix(key, PartialPrefix+"window=")
	if !ok {
		return time.Time{}, p, false
	}
	st, rest, ok := strings.Cut(rest, "/stream=")
	if !ok {
		return time.Time{}, p, false
	}
	stream, rest, ok := strings.Cut(rest, "/partition=")
	if !ok {
		return time.Time{}, p, false
	}
	id, ok := strings.CutSuffix(rest, PartialExt)
	if !ok {
		return time.Time{}, p, false
	}
	start, err := time.Parse(stamp, st)
	if err != nil {
		return time.Time{}, p, false
	}
	if p.Stream, ok = Unescape(stream); !ok {
		return time.Time{}, p, false
	}
	if p.ID, ok = Unescape(id); !ok {
		return time.Time{}, p, false
	}
	if PartialKey(start, p) != key {
		return time.Time{}, pipeline.Partition{}, false
	}
	return start, p, true
}

// PublishedKey is the key of the marker written, with If-None-Match: *, before a window's
// metrics are published: its existence means they were (or are being) published.
func PublishedKey(w pipeline.Window) string {
	return "kind=published/window=" + w.Start.UTC().Format(stamp) + ".json"
}

// Unescape is the inverse of Escape. It reports false for text Escape never produces (a bad
// or lowercase %XX, an escaped safe byte), so that Unescape(s) succeeding means
// Escape(Unescape(s)) == s.
func Unescape(s string) (string, bool) {
	if s == "%" {
		return "", true
	}
	if !strings.Contains(s, "%") {
		for i := 0; i < len(s); i++ {
			if !isSafe(s[i]) {
				return "", false
			}
		}
		return s, s != ""
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			if !isSafe(c) {
				return "", false
			}
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		hi, lo := unhex(s[i+1]), unhex(s[i+2])
		if hi < 0 || lo < 0 {
			return "", false
		}
		d := byte(hi<<4 | lo)
		if isSafe(d) {
			return "", false
		}
		b.WriteByte(d)
		i += 2
	}
	return b.String(), true
}

// unhex is the value of an uppercase hex digit (Escape writes uppercase), or -1.
func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
