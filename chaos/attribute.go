package main

import (
	"slices"
	"time"
)

// eventRecord is a scheduled event as it happened, and what it cost.
type eventRecord struct {
	event
	Time time.Time `json:"time"`
	// Worker is the incarnation the event stopped or started (its client id).
	Worker string `json:"worker,omitempty"`
	// Owned is what a stopped worker owned in the group's last stable assignment.
	Owned []int32 `json:"owned,omitempty"`
	// Evicted is how many group members of a killed worker the harness removed, once its
	// session would have expired on a real broker, because the broker still listed them.
	Evicted int `json:"evicted,omitempty"`
	// Term is how a SIGTERMed worker's drain went.
	Term *termResult `json:"term,omitempty"`
	// Final marks what the harness did after the schedule, to let the fleet drain: restart
	// the stopped workers, stop the extra one, and at last stop them all.
	Final bool `json:"final,omitempty"`
	// Handover is how long after a kill or SIGTERM every partition the worker owned had
	// another owner (timeHandovers); HandoverIncomplete, that some never did.
	Handover           time.Duration `json:"handover,omitempty"`
	HandoverIncomplete bool          `json:"handover_incomplete,omitempty"`
	// Detail says what a split did: "parent → children".
	Detail string `json:"detail,omitempty"`
	// Skipped says why the event did not happen (the worker was not in the state the
	// schedule expected: it had exited on its own).
	Skipped string `json:"skipped,omitempty"`
	// Moved are the partitions whose change of owner is put down to this event, Lost and
	// Duplicated the records of the cells those changes are blamed for (see attribute).
	Moved      []int32 `json:"moved,omitempty"`
	Lost       int64   `json:"lost"`
	Duplicated int64   `json:"duplicated"`
}

// attribution is what attribute could not put down to an event.
type attribution struct {
	UnattributedLost       int64 `json:"unattributed_lost"`
	UnattributedDuplicated int64 `json:"unattributed_duplicated"`
}

// attribute puts each change of owner down to an event, and each cell's difference down to a
// change, filling the events' Moved, Lost and Duplicated.
//
// A change of owner is caused by the latest event that stopped its previous owner (kill,
// SIGTERM or freeze of that incarnation), else (the partition left a live worker: a rebalance for a worker that
// joined) by the latest event before it. A cell's records are first processed after its window
// starts, and processed again only after the partition changed hands (or its worker
// restarted), so a cell's difference is put down to the partition's first change of owner at
// or after the window's start. That is exact when a partition changes hands at most once in a
// window's lifetime, and an approximation otherwise; differences with no change after their
// window started are reported as unattributed (a worker that counted a window twice on its
// own).
//
// excused is, per cell, the records the account did not count as lost (account.DeliveredLate).
func attribute(evs []*eventRecord, changes []ownerChange, t *tally, c *counted, excused cellCounts) attribution {
	causes := make([]*eventRecord, len(changes))
	for i, ch := range changes {
		causes[i] = causeOf(evs, ch)
		if causes[i] != nil && !slices.Contains(causes[i].Moved, ch.Partition) {
			causes[i].Moved = append(causes[i].Moved, ch.Partition)
		}
	}
	for _, ev := range evs {
		slices.Sort(ev.Moved)
	}
	var r attribution
	for k := range union(t.Cells, c.Cells) {
		d := c.Cells[k] + excused[k] - t.Cells[k]
		if d == 0 {
			continue
		}
		start := time.Unix(k.Window, 0)
		var cause *eventRecord
		found := false
		for i, ch := range changes {
			if ch.Partition == k.Partition && !ch.At.Before(start) {
				cause, found = causes[i], true
				break
			}
		}
		switch {
		case !found || cause == nil:
			if d > 0 {
				r.UnattributedDuplicated += d
			} else {
				r.UnattributedLost -= d
			}
		case d > 0:
			cause.Duplicated += d
		default:
			cause.Lost -= d
		}
	}
	return r
}

// causeOf is the event a change of owner is put down to, or nil (the fleet's first assignment).
func causeOf(evs []*eventRecord, ch ownerChange) *eventRecord {
	if ch.From != "" {
		// The latest: an incarnation may be frozen, then killed or stopped.
		var stopped *eventRecord
		for _, ev := range evs {
			if ev.Worker == ch.From && ev.Action != actStart && ev.Skipped == "" && !ev.Time.After(ch.At) {
				stopped = ev
			}
		}
		if stopped != nil {
			return stopped
		}
	}
	var latest *eventRecord
	for _, ev := range evs {
		if ev.Skipped == "" && !ev.Time.After(ch.At) {
			latest = ev
		}
	}
	return latest
}
