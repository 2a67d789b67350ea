package main

import (
	"testing"
	"time"
)

// A handover lasts until the last of the worker's partitions has a new owner, a partition
// released without one (a Kinesis lease given up) counting until someone takes it; a partition
// that never moves leaves the handover incomplete.
func TestTimeHandovers(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	kill := &eventRecord{event: event{Action: actKill, Slot: 1}, Time: t0, Worker: "w1", Owned: []int32{0, 1}}
	term := &eventRecord{event: event{Action: actTerm, Slot: 2}, Time: at(10), Worker: "w2", Owned: []int32{2, 3}}
	start := &eventRecord{event: event{Action: actStart, Slot: 1}, Time: at(11), Worker: "w1b"}
	changes := []ownerChange{
		{At: at(-5), Partition: 0, From: "w9", To: "w1"}, // before the kill: not its handover
		{At: at(3), Partition: 0, From: "w1", To: "w2"},
		{At: at(1), Partition: 1, From: "w1", To: ""},
		{At: at(7), Partition: 1, From: "", To: "w3"},
		{At: at(10.5), Partition: 2, From: "w2", To: "w3"},
		// partition 3 stays with w2 until the trial ends
	}
	timeHandovers([]*eventRecord{kill, term, start}, changes)
	if kill.Handover != 7*time.Second || kill.HandoverIncomplete {
		t.Errorf("kill: handover %v (incomplete %v), want 7s: partition 1 was released at 1s and taken at 7s",
			kill.Handover, kill.HandoverIncomplete)
	}
	if !term.HandoverIncomplete || term.Handover != 0 {
		t.Errorf("term: handover %v (incomplete %v), want incomplete: partition 3 never moved", term.Handover, term.HandoverIncomplete)
	}
	if start.Handover != 0 || start.HandoverIncomplete {
		t.Errorf("a start has no handover: %v %v", start.Handover, start.HandoverIncomplete)
	}
}
