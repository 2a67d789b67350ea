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
	byReason, err := byLabel(g, "weir_dead_letters_total", "reason", nil)
	if err != nil {
		return 0, "", err
	}
	var by []string
	for reason, v := range byReason {
		if n := int64(v); n > 0 {
			total += n
			by = append(by, fmt.Sprintf("%s %d", reason, n))
		}
	}
	sort.Strings(by)
	return total, strings.Join(by, ", "), nil
}
