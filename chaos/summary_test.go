package main

import (
	"strings"
	"testing"
	"time"
)

// The totals add the trials up: duplicates per kill -9 over every trial, the costs by cause,
// and a failed trial's replay command.
func TestSummaryTotals(t *testing.T) {
	o := defaultOptions()
	s := newSummary(o, time.Now(), "go run ./chaos -trials 1 -seed %d")
	kill := func(lost, dup int64) *eventRecord {
		return &eventRecord{event: event{Action: actKill, Slot: 1}, Worker: "chaos-w1-1", Lost: lost, Duplicated: dup}
	}
	s.add(&trialResult{Seed: 1, Kills: 2, Account: account{Produced: 1000, Duplicated: 30},
		Events: []*eventRecord{kill(0, 30), kill(0, 0), {event: event{Action: actStart, Slot: 4}}}})
	s.add(&trialResult{Seed: 2, Kills: 1, Account: account{Produced: 1000, Duplicated: 15, Lost: 2,
		Letters: letterAccount{Missing: 1}}, Events: []*eventRecord{kill(2, 15)},
		Failures: []string{"3 records lost"}})
	tt := s.Totals
	if tt.Trials != 2 || tt.Failed != 1 || tt.Kills != 3 || tt.Duplicated != 45 || tt.Lost != 3 || tt.LostOnTime != 2 {
		t.Errorf("totals %+v", tt)
	}
	if tt.DuplicatedPerKill != 15 || tt.DuplicatedShare != 45.0/2000 {
		t.Errorf("duplicated per kill %v, share %v; want 15 and %v", tt.DuplicatedPerKill, tt.DuplicatedShare, 45.0/2000)
	}
	if c := s.ByCause["kill -9"]; c.Events != 3 || c.Duplicated != 45 || c.Lost != 2 {
		t.Errorf("kill -9 costs %+v", c)
	}
	if c := s.ByCause["extra worker starts"]; c.Events != 1 {
		t.Errorf("extra worker starts %+v", c)
	}
	md := s.markdown()
	for _, want := range []string{"**15 per kill -9**", "## seed 2 FAILED", "go run ./chaos -trials 1 -seed 2", "3 records lost"} {
		if !strings.Contains(md, want) {
			t.Errorf("the summary lacks %q:\n%s", want, md)
		}
	}
}
