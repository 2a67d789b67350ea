package lag

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"
)

// collector exposes the Tracker to Prometheus, computed from a Snapshot at scrape time rather
// than mirrored into gauges on every Observe: time lag keeps growing between samples and a
// scrape sees it, a forgotten partition's series are gone from the very next scrape (no
// DeleteLabelValues to forget), and Observe stays a map update.
//
// Status is exposed the kube-state-metrics way, one series per status valued 1 for the
// current one and 0 for the others: `sum by (status) (weir_lag_status)` counts partitions per
// status across a fleet and `weir_lag_status{status="STALL"} == 1` is an alert, neither of
// which an enum-valued gauge allows.
type collector struct {
	t                                       *Tracker
	records, seconds, drain, status         *prometheus.Desc
	total, maxRecords, maxSeconds, maxDrain *prometheus.Desc
	partitions, unknown                     *prometheus.Desc
}

func newCollector(t *Tracker) *collector {
	part := []string{"stream", "partition"}
	return &collector{
		t: t,
		records: prometheus.NewDesc("weir_lag_records",
			"Offset lag of an owned partition: end offset minus committed position (absent when the source has no end offset).", part, nil),
		seconds: prometheus.NewDesc("weir_lag_seconds",
			"Time lag of an owned partition: age of the newest processed record, 0 when caught up.", part, nil),
		drain: prometheus.NewDesc("weir_lag_drain_seconds",
			"Estimated time to drain an owned partition's lag at its processing rate over the lag window; +Inf when nothing is processed.", part, nil),
		status: prometheus.NewDesc("weir_lag_status",
			"Burrow-style status of an owned partition over the lag window: 1 for the current status, 0 for the others.",
			[]string{"stream", "partition", "status"}, nil),
		total: prometheus.NewDesc("weir_lag_total_records",
			"Sum of the offset lag of the partitions this worker owns (absent while one has no offset lag: always on Kinesis).", nil, nil),
		maxRecords: prometheus.NewDesc("weir_lag_max_records",
			"Largest offset lag among the partitions this worker owns (absent while one has no offset lag: always on Kinesis).", nil, nil),
		maxSeconds: prometheus.NewDesc("weir_lag_max_seconds",
			"Largest time lag among the partitions this worker owns (absent while one's is unknown: see weir_lag_unknown_partitions).", nil, nil),
		maxDrain: prometheus.NewDesc("weir_lag_max_drain_seconds",
			"Longest estimated drain time among the partitions this worker owns; +Inf when one is not draining (absent while one has no offset lag).", nil, nil),
		partitions: prometheus.NewDesc("weir_lag_partitions",
			"Partitions this worker owns, by lag status.", []string{"status"}, nil),
		unknown: prometheus.NewDesc("weir_lag_unknown_partitions",
			"Partitions this worker owns whose time lag is unknown: taken and not sampled yet, or a Kinesis shard whose first GetRecords has not answered.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.records, c.seconds, c.drain, c.status, c.total,
		c.maxRecords, c.maxSeconds, c.maxDrain, c.partitions, c.unknown} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	r := c.t.Snapshot(c.t.now())
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, p := range r.Partitions {
		s, id := p.Partition.Stream, p.Partition.ID
		if p.Records != Unknown {
			gauge(c.records, float64(p.Records), s, id)
		}
		if !math.IsNaN(p.Seconds) {
			gauge(c.seconds, p.Seconds, s, id)
		}
		if !math.IsNaN(p.DrainSeconds) {
			gauge(c.drain, p.DrainSeconds, s, id)
		}
		for st := Status(0); st < numStatuses; st++ {
			v := 0.0
			if st == p.Status {
				v = 1
			}
			gauge(c.status, v, s, id, st.String())
		}
	}
	// The aggregates are exposed when they cover every owned partition (as zeros on an idle
	// worker), and left out otherwise: a maximum over the others is a lower bound, and a rule
	// reading it (a scale-in, an all-clear) would take a partition just taken, far behind, for
	// caught up. The unknown count is always exposed, so a rule can tell "not known yet" apart.
	tot := r.Total
	if tot.RecordsComplete() {
		gauge(c.total, float64(tot.RecordsSum))
		gauge(c.maxRecords, float64(tot.RecordsMax))
		gauge(c.maxDrain, tot.DrainSecondsMax)
	}
	if tot.SecondsComplete() {
		gauge(c.maxSeconds, tot.SecondsMax)
	}
	gauge(c.unknown, float64(tot.Unknown))
	for st := Status(0); st < numStatuses; st++ {
		gauge(c.partitions, float64(tot.ByStatus[st]), st.String())
	}
}
