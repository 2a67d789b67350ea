package load

import "github.com/prometheus/client_golang/prometheus"

// Reports returns the reports counter of outcome (written or failed).
func (m *Metrics) Reports(outcome string) prometheus.Counter {
	return m.reports.WithLabelValues(outcome)
}

// Utilization returns the CPU utilization gauge.
func (m *Metrics) Utilization() prometheus.Gauge { return m.utilization }
