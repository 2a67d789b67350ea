package scaling

import "github.com/prometheus/client_golang/prometheus"

// DesiredGauge and MeasureErrors expose two of the metrics to the external tests.
func (m *Metrics) DesiredGauge() prometheus.Gauge    { return m.desired }
func (m *Metrics) MeasureErrors() prometheus.Counter { return m.measureErrors }
