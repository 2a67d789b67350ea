// Package metrictest reads metric values back out of a Prometheus registry, for tests that
// check what a component counted without reaching into its metrics struct.
package metrictest

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Sum is the sum of the samples of the counter or gauge name in g over every series whose
// labels include each pair of labels (nil: every series); 0 when there is none.
func Sum(t testing.TB, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	var sum float64
	for _, m := range series(t, g, name) {
		if hasLabels(m, labels) {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue() + m.GetUntyped().GetValue()
		}
	}
	return sum
}

// Labelled returns the names of the metrics in g with at least one series carrying label with
// value, each once: a partition's series that should be gone, for instance.
func Labelled(t testing.TB, g prometheus.Gatherer, label, value string) []string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if hasLabels(m, map[string]string{label: value}) {
				names = append(names, mf.GetName())
				break
			}
		}
	}
	return names
}

func series(t testing.TB, g prometheus.Gatherer, name string) []*dto.Metric {
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()
		}
	}
	return nil
}

func hasLabels(m *dto.Metric, labels map[string]string) bool {
	for k, v := range labels {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == k && l.GetValue() == v {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
