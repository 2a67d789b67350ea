// Package layout names the objects weir writes, the same way for every object store (S3, a
// local directory). Keys are Hive-style partitioned (kind=/<column>=/dt=/hour=) so Athena can
// query them, and deterministic: the same window produced from the same records by the same
// partitions gets the same key, so a replay after a crash overwrites instead of duplicating.
//
//	kind=report/rule=<name>/dt=2026-11-21/hour=13/20261121T130000Z_20261121T130100Z_<owner>.json.gz
//	kind=anomaly/series=<name>/dt=…/hour=…/<start>_<end>_<owner>.json.gz
//	kind=summary/operator=<name>/dt=…/hour=…/<start>_<end>_<owner>.json.gz
//	kind=deadletter/stream=<stream>/dt=…/hour=…/<partition id>_<first>_<last>.json.gz
//	kind=partial/window=20261121T130000Z/stream=<stream>/partition=<id>.msgpack
//	kind=published/window=20261121T130000Z.json
//	kind=state/name=<name>.msgpack
//	kind=load/t=20261121T130000Z/worker=<id>.msgpack
//
// A fleet's global reports (the aggregator's) have no owner: every aggregator that merges a
// window writes the same key, without the _<owner> part.
package layout

import (
	"strings"
	"time"

	"github.com/weirstream/weir/pipeline"
)

// stamp is the compact UTC time format used in object names: sortable, no characters that need
// escaping in a URL or a file name.
const stamp = "20060102T150405Z"

// column is the name of the second Hive partition column for each report kind; a kind not
// listed here uses "name".
var column = map[string]string{
	"report":  "rule",
	"anomaly": "series",
	"summary": "operator",
}

// ColumnFor returns the Hive partition column that holds a report's Name for the given kind.
func ColumnFor(kind string) string {
	if c, ok := column[kind]; ok {
		return c
	}
	return "name"
}

// Ext is the extension of newline-delimited JSON objects, with or without gzip.
func Ext(gzip bool) string {
	if gzip {
		return ".json.gz"
	}
	return ".json"
}

// ReportKey is the key of the object holding the reports of one kind and name for a window.
// An empty owner (the fleet aggregator's global reports) leaves the _<owner> part out.
func ReportKey(kind, name string, w pipeline.Window, owner string, gzip bool) string {
	var b strings.Builder
	b.WriteString("kind=")
	b.WriteString(Escape(kind))
	b.WriteString("/")
	b.WriteString(ColumnFor(kind))
	b.WriteString("=")
	b.WriteString(Escape(name))
	timePartitions(&b, w.Start)
	b.WriteString(w.Start.UTC().Format(stamp))
	b.WriteString("_")
	b.WriteString(w.End.UTC().Format(stamp))
	if owner != "" {
		b.WriteString("_")
		b.WriteString(Escape(owner))
	}
	b.WriteString(Ext(gzip))
	return b.String()
}

// RecordsKey is the key of an object holding records of one partition from first to last
// position (dead letters: kind "deadletter"). t is the time of the first record and chooses the
// dt/hour partition.
func RecordsKey(kind string, p pipeline.Partition, first, last pipeline.Position, t time.Time, gzip bool) string {
	var b strings.Builder
	b.WriteString("kind=")
	b.WriteString(Escape(kind))
	b.WriteString("/stream=")
	b.WriteString(Escape(p.Stream))
	timePartitions(&b, t)
	b.WriteString(Escape(p.ID))
	b.WriteString("_")
	b.WriteString(Escape(first.String()))
	b.WriteString("_")
	b.WriteString(Escape(last.String()))
	b.WriteString(Ext(gzip))
	return b.String()
}

func timePartitions(b *strings.Builder, t time.Time) {
	t = t.UTC()
	b.WriteString("/dt=")
	b.WriteString(t.Format("2006-01-02"))
	b.WriteString("/hour=")
	b.WriteString(t.Format("15"))
	b.WriteString("/")
}

// Escape makes s safe as one key segment: letters, digits and "-_." stay; every other byte
// (including "/", "=" and spaces) becomes %XX, as Hive escapes partition values. Escaping is
// injective, so distinct names never share a key.
func Escape(s string) string {
	safe := true
	for i := 0; i < len(s); i++ {
		if !isSafe(s[i]) {
			safe = false
			break
		}
	}
	if safe && s != "" {
		return s
	}
	if s == "" {
		return "%" // never produced by escaping a non-empty name
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isSafe(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func isSafe(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '_' || c == '.'
}
