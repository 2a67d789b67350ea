package main

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/pipeline"
)

// The child reads the dead letters from the worker's own metrics: none from a fresh worker's
// registry, and every reason's count once some were written.
func TestDeadLettersFromMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	pipeline.NewMetrics(reg)
	if n, reasons, err := deadLetters(reg); err != nil || n != 0 || reasons != "" {
		t.Fatalf("fresh registry: %d (%q), %v", n, reasons, err)
	}

	reg = prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weir_dead_letters_total"}, []string{"reason"})
	reg.MustRegister(c)
	c.WithLabelValues("event_time").Add(2)
	c.WithLabelValues("decode").Add(3)
	n, reasons, err := deadLetters(reg)
	if err != nil || n != 5 || reasons != "decode 3, event_time 2" {
		t.Fatalf("got %d (%q), %v; want 5 (\"decode 3, event_time 2\")", n, reasons, err)
	}
}
