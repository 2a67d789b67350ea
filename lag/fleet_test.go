package lag

import (
	"testing"
	"time"
)

func TestFleet(t *testing.T) {
	tr, err := NewTracker(testConfig(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tr.Fleet(t0, time.Minute); ok {
		t.Fatal("fleet before any sample")
	}
	// Ends grow 100 per 10s for 20s, then 400 in the last 10s.
	for i, ends := range []int64{1000, 1100, 1200, 1600} {
		tr.ObserveFleet(FleetSample{Time: t0.Add(time.Duration(i) * 10 * time.Second), Ends: ends,
			LagSum: 50 * int64(i), LagMax: 20, Partitions: 4, Members: 2})
	}
	now := t0.Add(35 * time.Second)
	f, ok := tr.Fleet(now, 10*time.Second)
	if !ok || f.ArrivalRate != 40 || f.LagSum != 150 || f.Partitions != 4 || f.Members != 2 {
		t.Fatalf("fleet over 10s = %+v %v", f, ok)
	}
	if f, _ := tr.Fleet(now, 30*time.Second); f.ArrivalRate != 20 { // 600 over 30s
		t.Fatalf("fleet over 30s: arrival %v, want 20", f.ArrivalRate)
	}
	if _, ok := tr.Fleet(t0.Add(61*time.Second), time.Minute); ok {
		t.Fatal("a fleet view three intervals old is still used")
	}
}
