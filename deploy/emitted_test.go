package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// metricID names one CloudWatch metric: namespace, name and its dimensions ("Name=Value"
// pairs, sorted), which is what an alarm or a dashboard widget selects.
type metricID struct {
	namespace, name, dims string
}

func (m metricID) String() string { return fmt.Sprintf("%s/%s{%s}", m.namespace, m.name, m.dims) }

func newMetricID(namespace, name string, dims map[string]string) metricID {
	var kv []string
	for k, v := range dims {
		kv = append(kv, k+"="+v)
	}
	slices.Sort(kv)
	return metricID{namespace, name, strings.Join(kv, ",")}
}

// emittedMetrics reads Embedded Metric Format lines (as the awslogs driver hands them to
// CloudWatch Logs) and returns every metric they define, the way CloudWatch extracts them:
// each directive's metric once per dimension set, the dimension values taken from the line's
// root members. Lines that are not EMF (none are expected on stdout) are returned apart.
func emittedMetrics(stdout []byte) (map[metricID]int, []string, error) {
	out := map[metricID]int{}
	var other []string
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var doc map[string]any
		if json.Unmarshal(line, &doc) != nil {
			other = append(other, string(line))
			continue
		}
		aws, _ := doc["_aws"].(map[string]any)
		directives, _ := aws["CloudWatchMetrics"].([]any)
		if len(directives) == 0 {
			other = append(other, string(line))
			continue
		}
		for _, d := range directives {
			ns, _ := get(d, "Namespace").(string)
			sets, _ := get(d, "Dimensions").([]any)
			metrics, _ := get(d, "Metrics").([]any)
			for _, set := range sets {
				dims := map[string]string{}
				for _, name := range set.([]any) {
					v, ok := doc[name.(string)].(string)
					if !ok {
						return nil, nil, fmt.Errorf("EMF line: dimension %v has no string value: %s", name, line)
					}
					dims[name.(string)] = v
				}
				for _, m := range metrics {
					name, _ := get(m, "Name").(string)
					if _, ok := doc[name]; !ok {
						return nil, nil, fmt.Errorf("EMF line: metric %s has no value: %s", name, line)
					}
					out[newMetricID(ns, name, dims)]++
				}
			}
		}
	}
	return out, other, sc.Err()
}
