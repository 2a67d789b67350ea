package anomaly

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// mustZone loads an IANA zone or fails the test.
func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestSlotsInZone: the profile and slot of a point are those of the users' wall clock, on the
// days the clocks change as on any other: the slot a user reads off the clock, a 23-hour day
// that skips two slots, a 25-hour day that visits two slots twice. Named instants first (what
// a user expects, written out), then every 5 minutes of 2026 against the calendar.
func TestSlotsInZone(t *testing.T) {
	berlin, ny := mustZone(t, "Europe/Berlin"), mustZone(t, "America/New_York")
	kolkata := mustZone(t, "Asia/Kolkata")
	for _, tc := range []struct {
		what       string
		at         time.Time
		loc        *time.Location
		week, slot int
	}{
		{"Berlin, 29 March (23 hours), 01:30 CET", time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC), berlin, 1, 3},
		{"Berlin, 29 March, 03:30 CEST, an hour later", time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC), berlin, 1, 7},
		{"Berlin, Monday 30 March 00:00 CEST", time.Date(2026, 3, 29, 22, 0, 0, 0, time.UTC), berlin, 0, 0},
		{"Berlin, 25 October (25 hours), 01:30 CEST", time.Date(2026, 10, 24, 23, 30, 0, 0, time.UTC), berlin, 1, 3},
		{"Berlin, 25 October, 02:30 CEST", time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), berlin, 1, 5},
		{"Berlin, 25 October, 02:30 CET, the second time", time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC), berlin, 1, 5},
		{"Berlin, 25 October, 23:59 CET", time.Date(2026, 10, 25, 22, 59, 0, 0, time.UTC), berlin, 1, 47},
		{"Berlin, Friday 3 July 23:30 CEST", time.Date(2026, 7, 3, 21, 30, 0, 0, time.UTC), berlin, 0, 47},
		{"Berlin, Saturday 4 July 00:00 CEST", time.Date(2026, 7, 3, 22, 0, 0, 0, time.UTC), berlin, 1, 0},
		{"New York, 8 March (23 hours), 01:30 EST", time.Date(2026, 3, 8, 6, 30, 0, 0, time.UTC), ny, 1, 3},
		{"New York, 8 March, 03:00 EDT", time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC), ny, 1, 6},
		{"New York, 1 November (25 hours), 01:30 EDT", time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC), ny, 1, 3},
		{"New York, 1 November, 01:30 EST, the second time", time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC), ny, 1, 3},
		{"New York, Friday 6 November 19:00 EST (Saturday 00:00 UTC)", time.Date(2026, 11, 7, 0, 0, 0, 0, time.UTC), ny, 0, 38},
		{"New York, Sunday 8 November 23:30 EST (Monday 04:30 UTC)", time.Date(2026, 11, 9, 4, 30, 0, 0, time.UTC), ny, 1, 47},
		{"Kolkata (+05:30), Saturday 10 January 00:00", time.Date(2026, 1, 9, 18, 30, 0, 0, time.UTC), kolkata, 1, 0},
		{"UTC, as slots", time.Date(2026, 1, 10, 12, 29, 59, 0, time.UTC), nil, 1, 24},
	} {
		if w, s := slotsIn(tc.at, tc.loc); w != tc.week || s != tc.slot {
			t.Errorf("%s: slotsIn(%v) = %d, %d, want %d, %d", tc.what, tc.at, w, s, tc.week, tc.slot)
		}
	}
	for _, loc := range []*time.Location{berlin, ny, kolkata, time.UTC} {
		bad := 0
		for at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); at.Year() == 2026; at = at.Add(step) {
			lt := at.In(loc)
			week := 0
			if wd := lt.Weekday(); wd == time.Saturday || wd == time.Sunday {
				week = 1
			}
			slot := lt.Hour()*2 + lt.Minute()/30
			if w, s := slotsIn(at, loc); (w != week || s != slot) && bad < 5 {
				bad++
				t.Errorf("%v: slotsIn(%v) = %d, %d, want %d, %d (%v)", loc, at, w, s, week, slot, lt)
			}
		}
	}
}

// TestWeekInTheUsersZoneStaysQuiet: records per window of a stream whose week follows its
// users' clock raise no more false alarms at the week's edges than the same series on UTC's,
// once anomaly.time_zone names the users' zone. Two producers: bench/synth's "clock +1h" (round
// 49's TestWeekNotAtUTCMidnightStaysQuiet, anomaly49-proto: every timestamp an hour ahead of
// the series' own week, the same to the detector as users an hour west of UTC, Etc/GMT+1), and
// users in New York, whose week begins at 05:00 UTC, 04:00 after the clocks change on 8 March,
// inside the four weeks. Over the last three weekends of four weeks, 10 seeds, at most 2 alarms
// in the users' Friday and Sunday evenings (19:00, New York's UTC midnight in winter, to 01:00
// the next day), as on time at UTC (measured: none in each). The same series at UTC alarm there
// (measured: 35 and 29; the test wants more than 10): it is the setting that makes them quiet,
// not a change to the series.
func TestWeekInTheUsersZoneStaysQuiet(t *testing.T) {
	const seeds = 10
	n := 28 * pointsPerDay
	for _, tc := range []struct {
		what  string
		users string    // the zone the series' week follows
		start time.Time // the first point: a Monday 00:00 on the users' clock
		zone  string    // anomaly.time_zone
		quiet bool      // at most 2 alarms, or more than 10
	}{
		{"on time, at UTC", "UTC", t0, "UTC", true},
		{"clock +1h, at the producer's zone", "Etc/GMT+1", t0.Add(time.Hour), "Etc/GMT+1", true},
		{"clock +1h, at UTC", "Etc/GMT+1", t0.Add(time.Hour), "UTC", false},
		{"New York, at its zone", "America/New_York", time.Date(2026, 2, 23, 5, 0, 0, 0, time.UTC), "America/New_York", true},
		{"New York, at UTC", "America/New_York", time.Date(2026, 2, 23, 5, 0, 0, 0, time.UTC), "UTC", false},
	} {
		users := mustZone(t, tc.users)
		cfg := DefaultConfig()
		cfg.TimeZone = tc.zone
		alarms := 0
		for seed := uint64(1); seed <= seeds; seed++ {
			xs := localRecords(seed, n, tc.start, users)
			d := New(cfg)
			for i, x := range xs {
				at := tc.start.Add(time.Duration(i) * step)
				lt := at.In(users)
				wd, h := lt.Weekday(), lt.Hour()
				// The users' Friday and Sunday evenings, from the second week's Tuesday: a young
				// series' first weekend is news, whatever its clock.
				edge := at.Sub(tc.start) >= 8*24*time.Hour &&
					((wd == time.Friday || wd == time.Sunday) && h >= 19 || (wd == time.Saturday || wd == time.Monday) && h == 0)
				if res := d.Observe(at, x); res.Alarm && edge {
					alarms++
				}
			}
		}
		if tc.quiet && alarms > 2 {
			t.Errorf("%s: %d alarms in the users' Friday and Sunday evenings over %d seeds of four weeks, want at most 2", tc.what, alarms, seeds)
		}
		if !tc.quiet && alarms <= 10 {
			t.Errorf("%s: %d alarms in the users' Friday and Sunday evenings over %d seeds of four weeks, want more than 10 (the week split hours off the users')", tc.what, alarms, seeds)
		}
		t.Logf("%s: %d alarms", tc.what, alarms)
	}
}

// localRecords returns seed's records per window of a stream whose users' clock is loc: the
// shape of userLoadAt on their wall clock, every step from start.
func localRecords(seed uint64, n int, start time.Time, loc *time.Location) []float64 {
	r := rand.New(rand.NewPCG(seed, 41))
	xs := make([]float64, n)
	for i := range xs {
		lt := start.Add(time.Duration(i) * step).In(loc)
		wd := lt.Weekday()
		m := 20000 * userLoadAt(float64(lt.Hour())+float64(lt.Minute())/60, wd == time.Saturday || wd == time.Sunday)
		xs[i] = math.Round(m + math.Sqrt(m+0.05*0.05*m*m)*r.NormFloat64())
	}
	return xs
}

// TestZoneChangeKeepsTheProfile: a user whose detectors learned three weeks at UTC sets
// anomaly.time_zone to their users' zone, and the worker restores the snapshot under it
// (Detector.adopt, as the Analyzer's restore does). Over 20 seeds of records whose week is
// Berlin's (an hour from UTC) or Tokyo's (nine), the week after the change raises fewer than
// half the false alarms of the same week with UTC kept: the profile learned on the old clock,
// kept, is most of a good one. Dropping it instead (relearning each slot from its first visit,
// the first weekend judged on the weekdays' profile) raised about as many as UTC kept
// (measured: Berlin 19 against 23, Tokyo 18 against 21; kept, 9 and 3).
func TestZoneChangeKeepsTheProfile(t *testing.T) {
	n, cut := 28*pointsPerDay, 21*pointsPerDay
	for _, name := range []string{"Europe/Berlin", "Asia/Tokyo"} {
		loc := mustZone(t, name)
		start := time.Date(2026, 1, 5, 0, 0, 0, 0, loc) // a Monday on the users' clock
		cfg := DefaultConfig()
		cfg.TimeZone = name
		p, err := settingsOf(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var kept, utc int
		for seed := uint64(1); seed <= 20; seed++ {
			xs := localRecords(seed, n, start, loc)
			d, stay := New(DefaultConfig()), New(DefaultConfig())
			for i := range n {
				at := start.Add(time.Duration(i) * step)
				if i == cut {
					d = roundTrip(t, d)
					if from := d.adopt(p); from != "UTC" {
						t.Fatalf("the snapshot's zone %q, want UTC", from)
					}
				}
				a, b := d.Observe(at, xs[i]), stay.Observe(at, xs[i])
				if i >= cut {
					kept += b2i(a.Alarm)
					utc += b2i(b.Alarm)
				}
			}
		}
		t.Logf("%s: %d false alarms in the week after the change, %d with UTC kept", name, kept, utc)
		if 2*kept >= utc {
			t.Errorf("%s: %d false alarms in the week after the zone is set on a restore, want fewer than half of the %d with UTC kept",
				name, kept, utc)
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
