package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// deadLetters reads how many records the worker dead-lettered, by reason, from its metrics.
// Every record of the bench's data sets is valid, so a run that dead-letters any measured a
// broken pipeline (a format or time field it could not read), however fast: the child fails
// it instead of reporting a rate.
func deadLetters(g prometheus.Gatherer) (total int64, reasons string, err error) {
	mfs, err := g.Gather()
	if err != nil {
		return 0, "", err
	}
	var by []string
	for _, mf := range mfs {
		if mf.GetName() != "weir_dead_letters_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			n := int64(m.GetCounter().GetValue())
			if n == 0 {
				continue
			}
			total += n
			reason := "?"
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" {
					reason = l.GetValue()
				}
			}
			by = append(by, fmt.Sprintf("%s %d", reason, n))
		}
	}
	sort.Strings(by)
	return total, strings.Join(by, ", "), nil
}
