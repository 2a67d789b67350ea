package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/weirstream/weir/pipeline/anomaly"
)

func TestWhereTally(t *testing.T) {
	rs := results(seriesPoints, []int{pointsPerDay - 1, pointsPerDay, 1000, learnPoints, seriesPoints - 1},
		map[int]float64{pointsPerDay - 1: 0.5, pointsPerDay: 0.6, 1000: 0.45, learnPoints: 0.5, seriesPoints - 1: 0.9, 7000: 0.99})
	rs[7000].Peak = true // a peak below no alarm: not a false alarm
	rs[pointsPerDay-1].Reason = anomaly.ReasonDeviation
	rs[pointsPerDay].Reason = anomaly.ReasonPattern
	rs[1000].Reason = anomaly.ReasonDeviation
	rs[learnPoints].Reason = anomaly.ReasonStopped
	rs[seriesPoints-1].Reason = anomaly.ReasonRecord
	w := where{series: "x/value", seeds: 1}
	w.tally(rs)
	if w.alarms != 5 {
		t.Errorf("%d alarms, want 5", w.alarms)
	}
	// Each bucket's first and last points: day one's last, the next day's first (the rest of
	// the first 1000), point 1000 (the weeks before the fourth), the fourth week's first and last.
	if w.age != [4]int{1, 1, 1, 2} {
		t.Errorf("by age %v, want [1 1 1 2]", w.age)
	}
	// 23:55, 00:00 (day two), 11:20 (day four), Monday 00:00 of week four, Sunday 23:55.
	if w.hour != [4]int{2, 1, 0, 2} {
		t.Errorf("by hour %v, want [2 1 0 2]", w.hour)
	}
	if w.reason != [5]int{0, 2, 1, 1, 1} {
		t.Errorf("by reason %v, want [0 2 1 1 1] (none, deviation, pattern, stopped, record)", w.reason)
	}
	if got := scoreNats(0.5); got != 10 {
		t.Errorf("score 0.5 is %v nats, want 10 (scoreHalf)", got)
	}
	var out bytes.Buffer
	printWhere(&out, []where{w}, 0.45)
	// One alarm in day one's 288 points is 34.7 per 10k; the alarms' nats are 8.2, 10, 10, 15, 90.
	for _, want := range []string{"alarms on at most 2.80", "x/value               5     34.7", "8.2/10.0/15.0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

// -alarms prints the table for every series kind after the run's own.
func TestRunAlarms(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-seeds", "1", "-alarms"}, &out); err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(out.String(), "where the false alarms fall")
	if !ok {
		t.Fatalf("no table of where the false alarms fall:\n%s", out.String())
	}
	for _, s := range []string{"records/count", "errors/value", "lag/value", "setting/value"} {
		if !strings.Contains(table, "\n"+s) {
			t.Errorf("the table lacks %s:\n%s", s, table)
		}
	}
}
