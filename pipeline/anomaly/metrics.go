package anomaly

import "github.com/prometheus/client_golang/prometheus"

// metrics are the Analyzer's Prometheus view. Label values are resolved once here: Analyze
// runs every window over every series and should not look label values up each time.
type metrics struct {
	series       prometheus.Gauge
	observations prometheus.Counter
	alarms       prometheus.Counter

	// skipped: a value seen but not fed to its detector, or not learned by it.
	skipStale, skipStats, skipUnlisted, skipFirst, skipValue prometheus.Counter
	// refused: a new series not admitted.
	refuseMax, refuseDims, refuseRestore prometheus.Counter
	expired                              prometheus.Counter

	snapshotErrors *prometheus.CounterVec
	snapshotBytes  prometheus.Gauge
	snapshotSecs   prometheus.Histogram
}

// Reasons, as label values.
const (
	// reasonStale: the window does not start after the series' last observed window (a
	// replay after a restore, or the second part of a window flushed in two parts).
	reasonStale = "stale_window"
	// reasonStatisticSet: the point carries a StatisticSet, not one value.
	reasonStatisticSet = "statistic_set"
	// reasonUnlisted: a contributor not listed in its rule's report, whose upper bound says
	// nothing (see contributors.go).
	reasonUnlisted = "unlisted"
	// reasonMaxSeries: the table is full (anomaly.max_series).
	reasonMaxSeries = "max_series"
	// reasonDimensions: the series' points could not carry its dimensions plus Metric.
	reasonDimensions = "dimensions"
	// reasonFirstWindow: the first window a fresh analyzer sees (see Analyzer.observe).
	reasonFirstWindow = "first_window"
	// reasonNotFinite: a value NaN, ±Inf or beyond ±1e300, which the detector does not learn
	// (Detector.Observe): an exporter that writes such values is a problem of its own.
	reasonNotFinite = "not_finite"
	// reasonRestore: a series in the snapshot that could not be restored.
	reasonRestore = "restore"
)

func newMetrics(reg prometheus.Registerer) *metrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "weir", Subsystem: "anomaly", Name: name, Help: help})
	}
	skipped := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "weir", Subsystem: "anomaly", Name: "values_skipped_total",
		Help: "Values of watched series not fed to their detector, or not learned by it, by reason.",
	}, []string{"reason"})
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "weir", Subsystem: "anomaly", Name: "series_refused_total",
		Help: "New series not admitted (each window they are refused again), by reason.",
	}, []string{"reason"})
	m := &metrics{
		series: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "weir", Subsystem: "anomaly", Name: "series",
			Help: "Series watched by the anomaly detector.",
		}),
		observations: counter("observations_total", "Values fed to a series' detector."),
		alarms:       counter("alarms_total", "Anomaly events written: reports scoring at least anomaly.alarm_score."),
		expired:      counter("series_expired_total", "Series retired after anomaly.idle_timeout without a value."),
		snapshotErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "weir", Subsystem: "anomaly", Name: "snapshot_errors_total",
			Help: "Detector snapshots that failed, by operation (encode, save, load, decode).",
		}, []string{"op"}),
		snapshotBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "weir", Subsystem: "anomaly", Name: "snapshot_bytes",
			Help: "Size of the last detector snapshot saved or restored.",
		}),
		snapshotSecs: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "weir", Subsystem: "anomaly", Name: "snapshot_duration_seconds",
			Help:    "Time to encode and save the detectors (on the aggregator's goroutine).",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}),
	}
	m.skipStale = skipped.WithLabelValues(reasonStale)
	m.skipStats = skipped.WithLabelValues(reasonStatisticSet)
	m.skipUnlisted = skipped.WithLabelValues(reasonUnlisted)
	m.skipFirst = skipped.WithLabelValues(reasonFirstWindow)
	m.skipValue = skipped.WithLabelValues(reasonNotFinite)
	m.refuseMax = refused.WithLabelValues(reasonMaxSeries)
	m.refuseDims = refused.WithLabelValues(reasonDimensions)
	m.refuseRestore = refused.WithLabelValues(reasonRestore)
	for _, op := range []string{"encode", "save", "load", "decode"} {
		m.snapshotErrors.WithLabelValues(op)
	}
	reg.MustRegister(m.series, m.observations, m.alarms, m.expired, skipped, refused,
		m.snapshotErrors, m.snapshotBytes, m.snapshotSecs)
	return m
}
