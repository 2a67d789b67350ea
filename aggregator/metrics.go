package aggregator

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics is the aggregator's Prometheus view.
type metrics struct {
	windows        *prometheus.CounterVec // merged windows by result: complete, missing; skipped: nothing to merge
	remerges       prometheus.Counter
	mergeSeconds   prometheus.Histogram
	reportDelay    prometheus.Histogram
	partialsRead   prometheus.Counter
	invalid        prometheus.Counter
	mergeErrors    *prometheus.CounterVec // by operator
	configMismatch *prometheus.CounterVec // by operator
	publishes      *prometheus.CounterVec // by outcome: published, skipped (claimed before), empty
	errors         *prometheus.CounterVec // failed steps by op (retried)
	watched        prometheus.Gauge
	watchDropped   *prometheus.CounterVec // by reason: expired, max_watched
	terms          prometheus.Counter
	fenced         prometheus.Counter
	leader         prometheus.Gauge
	next           prometheus.Gauge
}

// The label values of the step that failed (weir_aggregator_errors_total{op}).
const (
	opPartitions = "partitions"
	opList       = "list"
	opRead       = "read"
	opReports    = "reports"
	opClaim      = "claim"
	opPublish    = "publish"
	opState      = "state"
	opAnalyzers  = "analyzers"
)

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "weir", Subsystem: "aggregator", Name: name, Help: help})
	}
	vec := func(name, help, label string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "weir", Subsystem: "aggregator", Name: name, Help: help}, []string{label})
	}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "weir", Subsystem: "aggregator", Name: name, Help: help})
	}
	m := &metrics{
		windows: vec("windows_total",
			"Windows merged by result (complete; missing: merged at the grace deadline without some partitions) or skipped (every partition passed it, none delivered it).", "result"),
		remerges: counter("remerges_total", "Windows merged again because a missing partition's partial arrived late (reports rewritten, metrics not republished)."),
		mergeSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "weir", Subsystem: "aggregator", Name: "merge_seconds",
			Help:    "Time to read, decode and merge one window's partials and emit its output.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}),
		reportDelay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "weir", Subsystem: "aggregator", Name: "report_delay_seconds",
			Help:    "Time from a window's end to its global reports being durable (first merge).",
			Buckets: prometheus.ExponentialBuckets(0.25, 2, 14),
		}),
		partialsRead:   counter("partials_read_total", "Partials read from the store."),
		invalid:        counter("partials_invalid_total", "Partials that could not be decoded or belong to another window period (named in the fleet summary, not merged)."),
		mergeErrors:    vec("merge_errors_total", "Operator states that failed to decode or merge; the operator's output is left out of the window (named in the fleet summary).", "operator"),
		configMismatch: vec("config_mismatch_total", "Operator states from partitions whose operator configuration differs from the aggregator's (or unknown operators): not merged, named in the fleet summary.", "operator"),
		publishes:      vec("publishes_total", "Windows whose metrics were published (published), found claimed by an earlier aggregator (skipped), or had none (empty).", "outcome"),
		errors:         vec("errors_total", "Failed steps, retried at the next poll, by op (partitions, list, read, reports, claim, publish, state, analyzers).", "op"),
		watched:        gauge("watched_windows", "Windows merged with missing partitions, watched for late partials."),
		watchDropped:   vec("watch_dropped_total", "Watched windows given up on, by reason (expired: watch_for passed; max_watched: too many watched).", "reason"),
		terms:          counter("terms_total", "Terms as the fleet's aggregator begun by this process."),
		fenced:         counter("fenced_total", "Terms ended because a newer aggregator's token was found in the state."),
		leader:         gauge("leader", "1 while this process is the fleet's aggregator."),
		next:           gauge("next_window_start_seconds", "Start (Unix seconds) of the next window to merge: its distance from now is how far behind the aggregator is."),
	}
	for _, r := range []string{"complete", "missing", "skipped"} {
		m.windows.WithLabelValues(r)
	}
	for _, o := range []string{"published", "skipped", "empty"} {
		m.publishes.WithLabelValues(o)
	}
	for _, op := range []string{opPartitions, opList, opRead, opReports, opClaim, opPublish, opState, opAnalyzers} {
		m.errors.WithLabelValues(op)
	}
	for _, r := range []string{"expired", "max_watched"} {
		m.watchDropped.WithLabelValues(r)
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.windows, m.remerges, m.mergeSeconds, m.reportDelay, m.partialsRead,
		m.invalid, m.mergeErrors, m.configMismatch, m.publishes, m.errors, m.watched, m.watchDropped, m.terms,
		m.fenced, m.leader, m.next} {
		errs = append(errs, reg.Register(c))
	}
	return m, errors.Join(errs...)
}
