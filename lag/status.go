package lag

import (
	"encoding/json"
	"time"
)

// Status is a partition's health over the window, in the spirit of Burrow's evaluation rules:
// judged on how lag and positions move, not on a lag threshold, so that a large lag that is
// shrinking is fine and a small one that never shrinks is not.
type Status int8

// The statuses, from healthy to broken. Their order is the order Evaluate tries them in
// reverse: a partition is reported with the first rule that matches, REWIND first.
const (
	// OK: caught up at some point in the window, or the lag went down, or too little history
	// to judge (a partition just assigned is given the benefit of the doubt for one window).
	OK Status = iota
	// WARN: positions move, but the lag never decreased between two samples of the window:
	// the partition is keeping pace at best and falling behind at worst.
	WARN
	// STOP: records are processed but nothing is committed (the committed position did not
	// move, or there is no commit at all) over the whole window while lag > 0. In weir this is
	// a sink that cannot make windows durable: the commit point waits on it.
	STOP
	// STALL: the processed position did not move over the whole window while lag > 0: the
	// partition is not consumed at all (a stuck fetch, a runner that does not return).
	STALL
	// REWIND: the committed position went backwards within the window (an offset reset, or a
	// commit from a member that should no longer own the partition).
	REWIND
	numStatuses
)

var statusNames = [numStatuses]string{"OK", "WARN", "STOP", "STALL", "REWIND"}

func (s Status) String() string {
	if s < 0 || s >= numStatuses {
		return "UNKNOWN"
	}
	return statusNames[s]
}

// MarshalJSON writes the status by name.
func (s Status) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// Evaluate returns the status of a partition from the samples of h inside the window ending at
// h's newest sample (plus the anchor before it). The rules, tried in this order:
//
//  1. REWIND if the committed position ever decreased between consecutive samples.
//  2. OK if the lag was 0 in any sample: a partition that caught up is healthy (Burrow rule 1).
//  3. OK if h does not span the whole window yet: STALL, STOP and WARN are claims about the
//     whole window and cannot be made on less.
//  4. STALL if the processed position is the same in every sample (the lag is > 0 in all).
//  5. STOP if the committed position (or its absence) is the same in every sample.
//  6. WARN if the lag never decreased between consecutive samples.
//  7. OK otherwise: the lag went down at least once while positions moved.
//
// A partition whose offset lag is Unknown (Kinesis) is judged on MillisBehind instead. A sample
// whose lag is unknown in both (a Kinesis shard whose first GetRecords has not answered) is not
// caught up (rule 2: that is what a shard just taken with a backlog looks like) and tells
// nothing of a decrease (rule 6); a shard that stays so for the whole window was not read at
// all, and rule 4 calls it STALL.
func Evaluate(h History, window time.Duration) Status {
	if len(h) == 0 {
		return OK
	}
	for i := 1; i < len(h); i++ {
		if h[i-1].Committed >= 0 && h[i].Committed >= 0 && h[i].Committed < h[i-1].Committed {
			return REWIND
		}
	}
	for _, s := range h {
		if behind(s) == 0 {
			return OK
		}
	}
	if !h.full(window) {
		return OK
	}
	first := h[0]
	stalled, stopped, rising := true, true, true
	for i := 1; i < len(h); i++ {
		s := h[i]
		stalled = stalled && s.progress() == first.progress()
		stopped = stopped && s.Committed == first.Committed
		b, prev := behind(s), behind(h[i-1])
		rising = rising && (b == Unknown || prev == Unknown || b >= prev)
	}
	switch {
	case stalled:
		return STALL
	case stopped:
		return STOP
	case rising:
		return WARN
	}
	return OK
}

// behind is the sample's lag in whatever unit the source gives: records, or milliseconds for
// a source without an end offset; Unknown when it gives neither.
func behind(s Sample) int64 {
	if l := OffsetLag(s); l != Unknown {
		return l
	}
	return max(Unknown, s.MillisBehind)
}
