package main

import (
	"testing"
	"time"
)

// Each delivery brings the points delivery.go says, at the times it says, and counts the
// points it says.
func TestArrivalsAsStated(t *testing.T) {
	const seed = 4
	at := onset(seed)
	for _, k := range deliveries {
		as, from, early := k.arrivals(seed, at)
		switch k {
		case gapShort, gapDay:
			gap := map[delivery]int{gapShort: 24, gapDay: pointsPerDay}[k]
			if len(as) != at+afterPoints || from != at || early != afterEarly {
				t.Errorf("%s: %d arrivals counted from %d (%d early), want %d from %d (%d)", k, len(as), from, early, at+afterPoints, at, afterEarly)
				continue
			}
			for j, a := range as {
				want := j
				if j >= at {
					want = j + gap // the gap's points never arrive
				}
				if a.i != want || !a.t.Equal(on(want)) {
					t.Errorf("%s: arrival %d is point %d at %v, want point %d on time", k, j, a.i, a.t, want)
					break
				}
			}
		case clockStep:
			if len(as) != at+afterPoints || from != at || early != afterEarly {
				t.Errorf("%s: %d arrivals counted from %d (%d early), want %d from %d (%d)", k, len(as), from, early, at+afterPoints, at, afterEarly)
				continue
			}
			for j, a := range as {
				want := on(j)
				if j >= at {
					want = want.Add(time.Hour)
				}
				if a.i != j || !a.t.Equal(want) {
					t.Errorf("%s: arrival %d is point %d at %v, want point %d at %v", k, j, a.i, a.t, j, want)
					break
				}
			}
		case clockAhead, clockAheadZone, jitter:
			if len(as) != seriesPoints || from != 0 || early != youngPoints {
				t.Errorf("%s: %d arrivals counted from %d (%d early), want %d from 0 (%d)", k, len(as), from, early, seriesPoints, youngPoints)
				continue
			}
			late := 0
			for j, a := range as {
				off := a.t.Sub(on(j))
				if a.i != j || (k != jitter && off != time.Hour) || (k == jitter && (off < -maxJitter || off > maxJitter)) {
					t.Errorf("%s: arrival %d is point %d, %v off its time", k, j, a.i, off)
					break
				}
				if j > 0 && !a.t.After(as[j-1].t) {
					late++
				}
			}
			// Two uniform errors of ±4 minutes differ by more than the 5 between points with
			// probability 4.5/64 (about 567 of 8064); none on a clock that is merely ahead.
			if k == jitter && (late < 400 || late > 750) || k != jitter && late != 0 {
				t.Errorf("%s: %d points arrive no later than the one before", k, late)
			}
		default:
			t.Errorf("%s: not tested", k)
		}
	}
	// Only the zoned delivery's detector is configured otherwise: in the zone of its clock.
	for _, k := range deliveries {
		if z, want := k.config().TimeZone, map[bool]string{true: "Etc/GMT+1", false: "UTC"}[k == clockAheadZone]; z != want {
			t.Errorf("%s: detector in zone %q, want %q", k, z, want)
		}
	}
	if a, _, _ := jitter.arrivals(5, at); a[100].t.Equal(func() time.Time { b, _, _ := jitter.arrivals(4, at); return b[100].t }()) {
		t.Error("two seeds jitter point 100 by the same amount")
	}
}

// A delivered run's alarms are counted from the delivery's first counted arrival, and the
// clean run's at the same points of the series, not at the same positions in arrival order.
func TestDeliveryRowCounts(t *testing.T) {
	// Points 0-9 on time, a gap of 5 (10-14), then 15-24.
	var as []arrival
	for i := range 25 {
		if i < 10 || i >= 15 {
			as = append(as, arrival{i, on(i)})
		}
	}
	rs := results(len(as), []int{9, 10, 11, 19}, nil)    // by position: points 9, 15, 16, 24
	clean := results(25, []int{10, 12, 13, 15, 24}, nil) // by point: 15 and 24 counted
	var r deliveryRow
	r.add(rs, as, 10, 2, clean)
	want := deliveryRow{Points: 10, Alarms: 3, CleanAlarms: 2, EarlyPoints: 2, EarlyAlarms: 2, CleanEarlyAlarms: 1}
	if r != want {
		t.Errorf("counted %+v, want %+v", r, want)
	}
}
