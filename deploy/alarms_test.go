package deploy

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// awsMetricDimensions are the metrics of AWS services the templates may watch (they cannot
// come from the worker's run), with the dimension names the service publishes them under.
var awsMetricDimensions = map[string][]string{
	"ECS/ContainerInsights/DesiredTaskCount":         {"ClusterName", "ServiceName"},
	"ECS/ContainerInsights/RunningTaskCount":         {"ClusterName", "ServiceName"},
	"AWS/Kafka/MaxOffsetLag":                         {"Cluster Name", "Consumer Group", "Topic"},
	"AWS/Kafka/SumOffsetLag":                         {"Cluster Name", "Consumer Group", "Topic"},
	"AWS/Kafka/EstimatedMaxTimeLag":                  {"Cluster Name", "Consumer Group", "Topic"},
	"AWS/Kinesis/GetRecords.IteratorAgeMilliseconds": {"StreamName"},
	"AWS/Kinesis/IncomingRecords":                    {"StreamName"},
	"AWS/Kinesis/GetRecords.Records":                 {"StreamName"},
}

// checkAlarms holds every alarm, the scaling policy and every dashboard widget of the stack to
// the metrics the worker's run emitted: a metric in the worker's namespace must have been
// emitted with exactly those dimensions (else the alarm watches nothing and can never fire);
// a metric in another namespace must be one of the AWS metrics above, with their dimensions.
func checkAlarms(t *testing.T, s *stack, emitted map[metricID]int) {
	t.Helper()
	ns := s.params["MetricNamespace"]
	missing := false
	defer func() {
		if missing {
			t.Logf("the run emitted:\n%s", listMetrics(emitted))
		}
	}()
	check := func(where string, m metricID) {
		if m.namespace == ns {
			if emitted[m] == 0 {
				t.Errorf("%s watches %v, which the worker did not emit", where, m)
				missing = true
			}
			return
		}
		dims, ok := awsMetricDimensions[m.namespace+"/"+m.name]
		if !ok {
			t.Errorf("%s watches %v, neither the worker's (namespace %s) nor a known AWS metric", where, m, ns)
			return
		}
		var names []string
		for _, kv := range strings.Split(m.dims, ",") {
			name, _, _ := strings.Cut(kv, "=")
			names = append(names, name)
		}
		if !slices.Equal(names, dims) {
			t.Errorf("%s watches %v; %s publishes it with the dimensions %v", where, m, m.namespace, dims)
		}
	}
	alarms := 0
	for _, id := range resourceIDs(s.tpl) {
		typ := get(s.tpl, "Resources", id, "Type")
		if typ != "AWS::CloudWatch::Alarm" && typ != "AWS::ApplicationAutoScaling::ScalingPolicy" && typ != "AWS::CloudWatch::Dashboard" {
			continue
		}
		props := s.resource(t, id)
		if props == nil {
			continue // its Condition is off
		}
		switch typ {
		case "AWS::CloudWatch::Alarm":
			alarms++
			if name, ok := props["MetricName"].(string); ok {
				check(id, newMetricID(props["Namespace"].(string), name, dimensionMap(props["Dimensions"])))
			}
			for _, q := range listOf(props["Metrics"]) {
				if m := get(q, "MetricStat", "Metric"); m != nil {
					check(id+" "+get(q, "Id").(string), newMetricID(get(m, "Namespace").(string), get(m, "MetricName").(string), dimensionMap(get(m, "Dimensions"))))
				}
			}
			if props["TreatMissingData"] == nil {
				t.Errorf("%s does not say how missing data counts", id)
			}
		case "AWS::ApplicationAutoScaling::ScalingPolicy":
			for _, q := range listOf(get(props, "TargetTrackingScalingPolicyConfiguration", "CustomizedMetricSpecification", "Metrics")) {
				if m := get(q, "MetricStat", "Metric"); m != nil {
					check(id+" "+get(q, "Id").(string), newMetricID(get(m, "Namespace").(string), get(m, "MetricName").(string), dimensionMap(get(m, "Dimensions"))))
				}
			}
		case "AWS::CloudWatch::Dashboard":
			for _, m := range dashboardMetrics(t, props["DashboardBody"].(string)) {
				check(id, m)
			}
		}
	}
	if alarms < 3 {
		t.Errorf("only %d alarms", alarms)
	}
}

func listOf(v any) []any {
	l, _ := v.([]any)
	return l
}

func dimensionMap(v any) map[string]string {
	out := map[string]string{}
	for _, d := range listOf(v) {
		out[get(d, "Name").(string)] = get(d, "Value").(string)
	}
	return out
}

// dashboardMetrics reads the metrics of a dashboard body's metric widgets: arrays of
// [namespace, name, dimension name, value, …, {rendering options}], where "." repeats the
// previous row's item at that position.
func dashboardMetrics(t *testing.T, body string) []metricID {
	t.Helper()
	var doc struct {
		Widgets []struct {
			Type       string
			Properties struct{ Metrics [][]any }
		}
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("DashboardBody is not JSON: %v\n%s", err, body)
	}
	var out []metricID
	for _, w := range doc.Widgets {
		var prev []any
		for _, row := range w.Properties.Metrics {
			var items []string
			for i, it := range row {
				s, ok := it.(string)
				if !ok {
					if _, isOpts := it.(map[string]any); isOpts {
						continue // rendering options, or a metric-math expression
					}
					t.Fatalf("dashboard metric item %v", it)
				}
				if s == "." && i < len(prev) {
					s = prev[i].(string)
				}
				items = append(items, s)
			}
			prev = row
			if len(items) < 2 {
				continue // an expression row: {"expression": …}
			}
			if len(items)%2 != 0 {
				t.Fatalf("dashboard metric %v: dimensions are not name/value pairs", row)
			}
			dims := map[string]string{}
			for i := 2; i < len(items); i += 2 {
				dims[items[i]] = items[i+1]
			}
			out = append(out, newMetricID(items[0], items[1], dims))
		}
	}
	if len(out) == 0 {
		t.Errorf("the dashboard shows no metrics")
	}
	return out
}

func listMetrics(m map[metricID]int) string {
	var lines []string
	for id := range m {
		lines = append(lines, "  "+id.String())
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}
