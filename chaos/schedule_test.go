package main

import (
	"reflect"
	"testing"
	"time"
)

func TestScheduleReplaysFromItsSeed(t *testing.T) {
	c := scheduleConfig{Workers: 3, First: 10 * time.Second, Last: 145 * time.Second, MinGap: 8 * time.Second, MaxGap: 20 * time.Second}
	a, b := newSchedule(7, c), newSchedule(7, c)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("the same seed drew two schedules:\n%v\n%v", a, b)
	}
	if reflect.DeepEqual(a, newSchedule(8, c)) {
		t.Fatal("seeds 7 and 8 drew the same schedule")
	}
}

// Every schedule keeps a worker running, only stops running workers and only starts stopped
// ones, keeps its events inside the bounds and gaps, and covers every kind of event within its
// first five.
func TestScheduleRules(t *testing.T) {
	c := scheduleConfig{Workers: 3, First: 6 * time.Second, Last: 42 * time.Second, MinGap: 6 * time.Second, MaxGap: 9 * time.Second}
	extra := c.Workers + 1
	for seed := range uint64(200) {
		evs := newSchedule(seed, c)
		up := map[int]bool{1: true, 2: true, 3: true}
		kinds := map[string]bool{}
		prev := time.Duration(0)
		for i, e := range evs {
			if e.At < c.First || e.At > c.Last {
				t.Fatalf("seed %d: event %d at %v is outside [%v, %v]", seed, i, e.At, c.First, c.Last)
			}
			if i > 0 && (e.At-prev < c.MinGap || e.At-prev > c.MaxGap) {
				t.Fatalf("seed %d: gap %v before event %d is outside [%v, %v]", seed, e.At-prev, i, c.MinGap, c.MaxGap)
			}
			prev = e.At
			if e.Slot < 1 || e.Slot > extra {
				t.Fatalf("seed %d: event %d on slot %d", seed, i, e.Slot)
			}
			switch e.Action {
			case actKill, actTerm:
				if !up[e.Slot] {
					t.Fatalf("seed %d: event %d stops worker %d, which is not running", seed, i, e.Slot)
				}
				up[e.Slot] = false
			case actStart:
				if up[e.Slot] {
					t.Fatalf("seed %d: event %d starts worker %d, which is running", seed, i, e.Slot)
				}
				up[e.Slot] = true
			}
			running := 0
			for _, u := range up {
				if u {
					running++
				}
			}
			if running == 0 {
				t.Fatalf("seed %d: event %d stops the last running worker", seed, i)
			}
			kinds[kindOf(e, extra)] = true
		}
		if len(evs) < 5 {
			t.Fatalf("seed %d: %d events in %v with gaps of at most %v", seed, len(evs), c.Last-c.First, c.MaxGap)
		}
		for _, k := range []string{"kill", "term", "restart", "extra start", "extra stop"} {
			if !kinds[k] {
				t.Errorf("seed %d: no %s in %v", seed, k, evs)
			}
		}
	}
}

func kindOf(e event, extra int) string {
	switch {
	case e.Slot == extra && e.Action != actStart:
		return "extra stop"
	case e.Action == actKill:
		return "kill"
	case e.Action == actTerm:
		return "term"
	case e.Slot == extra:
		return "extra start"
	default:
		return "restart"
	}
}
