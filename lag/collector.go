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
	partitions                              *prometheus.Desc
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
			"Sum of the offset lag of the partitions this worker owns.", nil, nil),
		maxRecords: prometheus.NewDesc("weir_lag_max_records",
			"Largest offset lag among the partitions this worker owns.", nil, nil),
		maxSeconds: prometheus.NewDesc("weir_lag_max_seconds",
			"Largest time lag among the partitions this worker owns.", nil, nil),
		maxDrain: prometheus.NewDesc("weir_lag_max_drain_seconds",
			"Longest estimated drain time among the partitions this worker owns; +Inf when one is not draining.", nil, nil),
		partitions: prometheus.NewDesc("weir_lag_partitions",
			"Partitions this worker owns, by lag status.", []string{"status"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.records, c.seconds, c.drain, c.status, c.total,
		c.maxRecords, c.maxSeconds, c.maxDrain, c.partitions} {
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
	// The aggregates are always exposed, as zeros on an idle worker.
	gauge(c.total, float64(r.Total.RecordsSum))
	gauge(c.maxRecords, float64(r.Total.RecordsMax))
	gauge(c.maxSeconds, r.Total.SecondsMax)
	gauge(c.maxDrain, r.Total.DrainSecondsMax)
	for st := Status(0); st < numStatuses; st++ {
		gauge(c.partitions, float64(r.Total.ByStatus[st]), st.String())
	}
}
