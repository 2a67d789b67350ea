package anomaly

import (
	"math"
	"slices"
	"unicode/utf8"

	"github.com/weirstream/weir/pipeline"
)

// A series is a metric name and a set of dimensions: one CloudWatch metric. Its id is
//
//	Name{Dim1="value",Dim2="value"}
//
// with dimensions sorted by name and values quoted (\ and " escaped), so that distinct series
// never share an id whatever their values hold. The id names the series in anomaly events and
// snapshots.

// watch is one watched series: its identity, its detector, and its place in the table's
// activity order.
type watch struct {
	id     string
	metric string
	dims   []pipeline.Dimension // the series' own, sorted by name
	// outDims is dims plus Metric=<metric>: the dimensions of the four points published for
	// the series every window. Built once and shared by those points (sinks never modify an
	// Output), so publishing allocates nothing per series.
	outDims []pipeline.Dimension

	// rule and keys are set on a per-contributor series (contributors.go).
	rule string
	keys []string

	det Detector
	// lastSeen is the start (Unix ns) of the last window observed. A window that does not
	// start later is not observed again: it is a replay after a restore, or the second part of
	// a window flushed in two parts.
	lastSeen int64
	// touched is the analyzer's count of windows (Analyzer.seq) at the last window the series
	// was present in (for a contributor: listed in its rule's report); idle_timeout counts from
	// it, in windows of the current period.
	touched int64
	// expected is the last Result.Expected, which decides whether an unlisted contributor's
	// upper bound is informative (contributors.go).
	expected float64

	prev, next *watch // activity order: least recently touched first
}

// metricDimension is the dimension naming the watched metric on the analyzer's points.
const metricDimension = "Metric"

// maxDimensions is CloudWatch's limit on dimensions per metric.
const maxDimensions = 30

// appendID appends the id of (metric, dims) to b; dims must be sorted by name.
func appendID(b []byte, metric string, dims []pipeline.Dimension) []byte {
	b = append(b, metric...)
	b = append(b, '{')
	for i, d := range dims {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, d.Name...)
		b = append(b, '=')
		b = appendQuoted(b, d.Value)
	}
	return append(b, '}')
}

// appendQuoted appends s in double quotes, with " and \ escaped.
func appendQuoted[S ~string | ~[]byte](b []byte, s S) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

// contributorMetric is the metric name of per-contributor series: contrib's name for the same
// value, so that a dashboard finds the band next to the contributor's own metric.
const contributorMetric = "ContributorValue"

// Dimension names of a per-contributor series, as contrib names them.
const (
	contributorDimension = "Contributor"
	ruleDimension        = "RuleName"
)

// appendContributorID appends the id of a per-contributor series to b without building its
// dimensions: the same bytes as appendID(contributorMetric, [Contributor=value, RuleName=rule]).
// value is the Contributor dimension (appendContributor).
func appendContributorID(b []byte, value []byte, rule string) []byte {
	b = append(b, contributorMetric+"{"+contributorDimension+"="...)
	b = appendQuoted(b, value)
	b = append(b, ","+ruleDimension+"="...)
	b = appendQuoted(b, rule)
	return append(b, '}')
}

// sortDims sorts dims by name in place. Insertion sort: a point has a handful of dimensions,
// and this neither allocates nor reflects.
func sortDims(dims []pipeline.Dimension) {
	for i := 1; i < len(dims); i++ {
		for j := i; j > 0 && dims[j].Name < dims[j-1].Name; j-- {
			dims[j], dims[j-1] = dims[j-1], dims[j]
		}
	}
}

// publishable reports whether the series' points can carry its dimensions plus Metric:
// CloudWatch allows 30 dimensions, with distinct names.
func publishable(dims []pipeline.Dimension) bool {
	if len(dims) >= maxDimensions {
		return false
	}
	for i, d := range dims {
		if d.Name == metricDimension || (i > 0 && d.Name == dims[i-1].Name) {
			return false
		}
	}
	return true
}

// newWatch builds a series from its (sorted) dimensions, which it copies, with a new detector
// of settings p (validated).
func newWatch(id, metric string, dims []pipeline.Dimension, p settings) *watch {
	w := &watch{id: id, metric: metric, det: Detector{p: p}, lastSeen: math.MinInt64}
	w.outDims = make([]pipeline.Dimension, len(dims), len(dims)+1)
	copy(w.outDims, dims)
	w.dims = w.outDims[:len(dims):len(dims)]
	w.outDims = append(w.outDims, pipeline.Dimension{Name: metricDimension, Value: metric})
	return w
}

// maxReportName bounds the Name of an anomaly report, which becomes a segment of an object
// key (sinks/layout): S3 keys are at most 1024 bytes, and a contributor's dimension value
// alone may be 1024. Longer ids are cut and made unique again with a hash; the full id is in
// the event body.
const maxReportName = 200

// reportName returns the series' report Name: its id, or a cut id and a hash of it.
func (w *watch) reportName() string {
	if len(w.id) <= maxReportName {
		return w.id
	}
	// FNV-1a 64: deterministic across restarts and workers (unlike maphash), so the same
	// series always writes under the same key.
	h := uint64(14695981039346656037)
	for i := 0; i < len(w.id); i++ {
		h ^= uint64(w.id[i])
		h *= 1099511628211
	}
	const hexDigits = "0123456789abcdef"
	var sum [16]byte
	for i := range sum {
		sum[15-i] = hexDigits[h&0xf]
		h >>= 4
	}
	return cutUTF8(w.id, maxReportName-17) + "~" + string(sum[:])
}

// cutUTF8 returns the longest prefix of s of at most n bytes that ends at a rune boundary.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// dimensionsMap returns the series' dimensions as a JSON-friendly map (events only).
func (w *watch) dimensionsMap() map[string]string {
	m := make(map[string]string, len(w.dims))
	for _, d := range w.dims {
		m[d.Name] = d.Value
	}
	return m
}

// maxDimensionValue is CloudWatch's limit on a dimension value.
const maxDimensionValue = 1024

// appendContributor appends the Contributor dimension of a per-contributor series to b: the
// keys joined by commas and cut to CloudWatch's 1024 bytes, exactly as contrib writes its
// ContributorValue points, so that both name the same contributor the same way.
func appendContributor(b []byte, keys []string) []byte {
	start := len(b)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, k...)
	}
	if len(b)-start > maxDimensionValue {
		n := start + maxDimensionValue
		for n > start && !utf8.RuneStart(b[n]) {
			n--
		}
		b = b[:n]
	}
	return b
}

// hasAny reports whether dims holds a dimension named in names.
func hasAny(dims []pipeline.Dimension, names []string) bool {
	for _, d := range dims {
		if slices.Contains(names, d.Name) {
			return true
		}
	}
	return false
}
