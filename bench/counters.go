package main

import (
	"github.com/prometheus/client_golang/prometheus"
)

// counters reads from the worker's metrics what says where a drain waited: how often the
// source paused a partition, by reason (weir_kafka_pauses_total), and how long the runners
// were busy, idle and backpressured (weir_stage_seconds_total{stage="runner"}). A drain behind
// a slow store that is slower than another shows here whether its runners sat idle waiting for
// the source or blocked on the store.
func counters(g prometheus.Gatherer) (map[string]float64, error) {
	pauses, err := byLabel(g, "weir_kafka_pauses_total", "reason", nil)
	if err != nil {
		return nil, err
	}
	runner, err := byLabel(g, "weir_stage_seconds_total", "state", map[string]string{"stage": "runner"})
	if err != nil {
		return nil, err
	}
	out := make(map[string]float64, len(pauses)+len(runner))
	for k, v := range pauses {
		out["pauses_"+k] = v
	}
	for k, v := range runner {
		out["runner_"+k+"_seconds"] = v
	}
	return out, nil
}

// byLabel sums the counter name by the value of its label key, over the series whose labels
// include match.
func byLabel(g prometheus.Gatherer, name, key string, match map[string]string) (map[string]float64, error) {
	mfs, err := g.Gather()
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			ok := true
			for k, v := range match {
				ok = ok && labels[k] == v
			}
			if !ok {
				continue
			}
			v := labels[key]
			if v == "" {
				v = "?"
			}
			out[v] += m.GetCounter().GetValue()
		}
	}
	return out, nil
}
