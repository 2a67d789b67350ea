package load

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the Prometheus view of a worker's load reports. Build one per process with
// NewMetrics and the process's registerer.
type Metrics struct {
	reports     *prometheus.CounterVec
	utilization prometheus.Gauge
	vcpus       prometheus.Gauge
}

// NewMetrics registers the load metrics with reg. It panics on a duplicate registration, a
// wiring bug, like prometheus.MustRegister.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reports: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "weir", Subsystem: "load", Name: "reports_total",
			Help: "Load reports this worker wrote (outcome=written) or failed to write (outcome=failed: the fleet's sizing misses this worker for that period).",
		}, []string{"outcome"}),
		utilization: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "weir", Subsystem: "load", Name: "cpu_utilization_ratio",
			Help: "CPU seconds the process spent per second over the last load report, divided by its vCPUs.",
		}),
		vcpus: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "weir", Subsystem: "load", Name: "vcpus",
			Help: "vCPUs the task may use, as its load reports state them.",
		}),
	}
	m.reports.WithLabelValues("written")
	m.reports.WithLabelValues("failed")
	reg.MustRegister(m.reports, m.utilization, m.vcpus)
	return m
}
