package anomaly

import (
	"time"

	"github.com/weirstream/weir/pipeline"
)

// Event is the body of an anomaly report (Kind "anomaly", Name the series id): one per alarm
// (Result.Alarm), which is one per excursion of a series and another only if it gets worse
// (peaks.go). The sinks write it as one JSON line under kind=anomaly/series=<id>/.
type Event struct {
	// Series is the series id: Metric{Dim="value",...} (series.go).
	Series     string            `json:"series"`
	Metric     string            `json:"metric"`
	Dimensions map[string]string `json:"dimensions"`
	// WindowStart and WindowEnd are the window, RFC 3339 in UTC.
	WindowStart string  `json:"window_start"`
	WindowEnd   string  `json:"window_end"`
	Value       float64 `json:"value"`
	// Censored says Value is an upper bound, not the value: the contributor was not listed in
	// its rule's report (contributors.go).
	Censored bool    `json:"censored,omitempty"`
	Expected float64 `json:"expected"`
	Lower    float64 `json:"lower"`
	Upper    float64 `json:"upper"`
	Score    float64 `json:"score"`
	// Reason says what about the value is anomalous (Reason.String): "deviation" (far from
	// the expected value), "pattern" (a shape the series has not produced, or a value that has
	// not changed for far longer than the series' values hold, which a value inside its band
	// can be), "stopped" (a run of zeros), "record" (beyond every value the series has
	// produced).
	Reason string `json:"reason"`
	// Rule and ContributorKeys name the contributor of a per-contributor series (in the
	// order of the rule's Keys), so that the event says which tenant, not only that something
	// is anomalous.
	Rule            string   `json:"rule,omitempty"`
	ContributorKeys []string `json:"contributor_keys,omitempty"`
}

// The analyzer's point names: four per watched series per window (after warm-up), with the
// series' dimensions plus Metric=<watched metric>.
const (
	MetricScore    = "AnomalyScore"
	MetricExpected = "ExpectedValue"
	MetricLower    = "LowerBand"
	MetricUpper    = "UpperBand"
)

// isOutput reports whether name is one of the analyzer's own point names, which are never
// watched: a detector on its own score would feed back into itself.
func isOutput(name string) bool {
	return name == MetricScore || name == MetricExpected || name == MetricLower || name == MetricUpper
}

// observation is a value fed to a series' detector in the current window.
type observation struct {
	w        *watch
	value    float64
	censored bool
	r        Result
}

// publish appends the window's points and events to out: four points per observed series
// that has finished warm-up (before that the band means little, and a score of 0 would read
// as "checked: normal"), and for each alarm a report and a log line.
func (a *Analyzer) publish(out *pipeline.Output) {
	warm := 0
	for i := range a.obs {
		if a.obs[i].r.Warm {
			warm++
		}
	}
	if warm == 0 {
		return
	}
	// One allocation for the window rather than growth in steps.
	out.Points = growPoints(out.Points, 4*warm)
	t := out.Window.Start
	for i := range a.obs {
		o := &a.obs[i]
		if !o.r.Warm {
			continue
		}
		dims := o.w.outDims
		out.Points = append(out.Points,
			pipeline.Point{Name: MetricScore, Dimensions: dims, Time: t, Unit: pipeline.UnitNone, Value: o.r.Score},
			pipeline.Point{Name: MetricExpected, Dimensions: dims, Time: t, Unit: pipeline.UnitNone, Value: o.r.Expected},
			pipeline.Point{Name: MetricLower, Dimensions: dims, Time: t, Unit: pipeline.UnitNone, Value: o.r.Lower},
			pipeline.Point{Name: MetricUpper, Dimensions: dims, Time: t, Unit: pipeline.UnitNone, Value: o.r.Upper})
		if o.r.Alarm {
			a.alarm(out, o)
		}
	}
}

func growPoints(ps []pipeline.Point, n int) []pipeline.Point {
	if cap(ps)-len(ps) >= n {
		return ps
	}
	grown := make([]pipeline.Point, len(ps), len(ps)+n)
	copy(grown, ps)
	return grown
}

// alarm writes the event of an alarm raised in this window, and logs it.
func (a *Analyzer) alarm(out *pipeline.Output, o *observation) {
	a.m.alarms.Inc()
	w := out.Window
	ev := Event{
		Series:          o.w.id,
		Metric:          o.w.metric,
		Dimensions:      o.w.dimensionsMap(),
		WindowStart:     w.Start.UTC().Format(time.RFC3339),
		WindowEnd:       w.End.UTC().Format(time.RFC3339),
		Value:           o.value,
		Censored:        o.censored,
		Expected:        o.r.Expected,
		Lower:           o.r.Lower,
		Upper:           o.r.Upper,
		Score:           o.r.Score,
		Reason:          o.r.Reason.String(),
		Rule:            o.w.rule,
		ContributorKeys: o.w.keys,
	}
	out.Reports = append(out.Reports, pipeline.Report{Kind: "anomaly", Name: o.w.reportName(), Body: ev})
	attrs := []any{"series", ev.Series, "window_start", ev.WindowStart, "value", ev.Value,
		"expected", ev.Expected, "lower", ev.Lower, "upper", ev.Upper, "score", ev.Score, "reason", ev.Reason}
	if o.w.rule != "" {
		attrs = append(attrs, "rule", o.w.rule, "contributor", o.w.keys)
	}
	if o.censored {
		attrs = append(attrs, "censored", true)
	}
	a.log.Warn("anomaly", attrs...)
}
