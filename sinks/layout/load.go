package layout

import (
	"strings"
	"time"
)

// Load reports: what each worker processed and spent in one scaling period, which the fleet's
// aggregator sizes the fleet from.
//
//	kind=load/t=20261121T130000Z/worker=<id>.msgpack
//
// The period comes first, so one prefix lists a period's reports. A load report is not
// replayed (it measures a process, not the records), so unlike a partial its key names the
// worker that wrote it.
const (
	// LoadPrefix begins every load report's key.
	LoadPrefix = "kind=load/"
	// LoadExt ends every load report's key.
	LoadExt = ".msgpack"
)

// LoadPeriodPrefix is the prefix of every load report of the period starting at start.
func LoadPeriodPrefix(start time.Time) string {
	return LoadPrefix + "t=" + start.UTC().Format(stamp) + "/"
}

// LoadKey is the key of worker's load report for the period starting at start.
func LoadKey(start time.Time, worker string) string {
	return LoadPeriodPrefix(start) + "worker=" + Escape(worker) + LoadExt
}

// ParseLoadKey is the inverse of LoadKey. Like ParsePartialKey it accepts only keys LoadKey
// writes, so a temporary file or a stray object under the prefix is not taken for a report.
func ParseLoadKey(key string) (start time.Time, worker string, ok bool) {
	rest, ok := strings.CutPrefix(key, LoadPrefix+"t=")
	if !ok {
		return time.Time{}, "", false
	}
	st, rest, ok := strings.Cut(rest, "/worker=")
	if !ok {
		return time.Time{}, "", false
	}
	id, ok := strings.CutSuffix(rest, LoadExt)
	if !ok {
		return time.Time{}, "", false
	}
	start, err := time.Parse(stamp, st)
	if err != nil {
		return time.Time{}, "", false
	}
	if worker, ok = Unescape(id); !ok || LoadKey(start, worker) != key {
		return time.Time{}, "", false
	}
	return start, worker, true
}
