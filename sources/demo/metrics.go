package demo

import "github.com/prometheus/client_golang/prometheus"

// Reasons a produced demo record failed (weir_demo_produce_failures_total's reason label).
const (
	failStopping = "stopping" // the generator stopped before the broker acknowledged it
	failBroker   = "broker"   // the broker refused it, or the client gave it up
)

// metrics are the generator's own: what it produced, and what it failed to.
type metrics struct {
	produced prometheus.Counter
	failed   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		produced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weir_demo_produced_total",
			Help: "Demo events the embedded broker acknowledged.",
		}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weir_demo_produce_failures_total",
			Help: "Demo events that were never acknowledged, by reason: stopping (the generator stopped first), broker (refused by the broker or given up by the client; the first is logged).",
		}, []string{"reason"}),
	}
	for _, r := range []string{failStopping, failBroker} {
		m.failed.WithLabelValues(r) // present at 0 from the start, for alerts on a rate
	}
	reg.MustRegister(m.produced, m.failed)
	return m
}
