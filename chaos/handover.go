package main

import "time"

// timeHandovers fills each kill's and SIGTERM's Handover: how long after the event the last of
// the partitions the worker owned had a new owner, from the changes of owner the harness saw
// (every ownershipPoll). For a Kinesis kill that is the lease expiry (lease_duration by the
// taker's clock, plus a renewal interval to notice it); for a SIGTERM, the drain and the
// release. A partition released without an owner ("" for a while, a Kinesis lease given up)
// counts until someone takes it. An event after which some owned partition never had a new
// owner before the trial ended leaves Handover unset and HandoverIncomplete true.
func timeHandovers(evs []*eventRecord, changes []ownerChange) {
	for _, ev := range evs {
		if ev.Skipped != "" || ev.Final || ev.Action == actStart || len(ev.Owned) == 0 {
			continue
		}
		var longest time.Duration
		for _, p := range ev.Owned {
			at, ok := newOwnerAt(changes, p, ev.Worker, ev.Time)
			if !ok {
				ev.HandoverIncomplete = true
				break
			}
			longest = max(longest, at.Sub(ev.Time))
		}
		if !ev.HandoverIncomplete {
			ev.Handover = longest.Round(100 * time.Millisecond)
		}
	}
}

// newOwnerAt is when partition p, owned by from at since, first had an owner other than from.
func newOwnerAt(changes []ownerChange, p int32, from string, since time.Time) (time.Time, bool) {
	left := false
	for _, ch := range changes {
		if ch.Partition != p || ch.At.Before(since) {
			continue
		}
		if ch.From == from {
			left = true
		}
		if left && ch.To != "" && ch.To != from {
			return ch.At, true
		}
	}
	return time.Time{}, false
}
