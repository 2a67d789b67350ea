package main

import (
	"math/rand/v2"
	"slices"
	"time"
)

// A freeze is a worker stopped (SIGSTOP) and continued (SIGCONT) later, as a throttled
// ECS/Fargate task, a long GC pause or a suspended host is: the process keeps its state and
// its connections, and believes, when it resumes, that it still owns what it owned. A short
// freeze (below the workers' idle_timeout) must change nothing but timing. A long one (past
// the Kafka session timeout, or past the Kinesis lease's expiry) lets the fleet move its
// partitions away, and it resumes as a zombie: whatever it then writes or commits for
// partitions it no longer owns must not count a record twice or lose one.

// freezePlan draws a trial's freezes from its seed: o.Freezes of them, alternately short and
// long (the first short), each on a worker the schedule has running at that time and not
// already frozen, at a time drawn over the producer's run. They come from an rng of their own
// and are added after the schedule is drawn, so a seed's kills, SIGTERMs and restarts are the
// same with and without freezes. A freeze with no worker to freeze at its time is left out.
func withFreezes(sched []event, seed uint64, o options) []event {
	rng := rand.New(rand.NewPCG(seed, seed^0x667265657a65))
	extra := o.Workers + 1
	var freezes []event
	for i := range o.Freezes {
		at := o.First + time.Duration(rng.Int64N(int64(o.Produce-o.MinGap/2-o.First)+1))
		long := i%2 == 1
		lo, hi := shortFreeze(o)
		if long {
			lo, hi = longFreeze(o)
		}
		d := lo + time.Duration(rng.Int64N(int64(hi-lo)+1))
		// The workers up at `at`: the schedule's starts and stops up to then.
		up := make([]bool, extra+1)
		for s := 1; s <= o.Workers; s++ {
			up[s] = true
		}
		for _, e := range sched {
			if e.At > at || e.Slot == 0 {
				continue
			}
			up[e.Slot] = e.Action == actStart
		}
		var slots []int
		for s := 1; s <= extra; s++ {
			if up[s] && !frozenDuring(freezes, s, at, at+d) {
				slots = append(slots, s)
			}
		}
		if len(slots) == 0 {
			continue
		}
		freezes = append(freezes, event{At: at, Action: actFreeze, Slot: slots[rng.IntN(len(slots))], For: d, Long: long})
	}
	sched = append(sched, freezes...)
	slices.SortStableFunc(sched, func(a, b event) int { return int(a.At - b.At) })
	return sched
}

// frozenDuring says whether one of freezes holds slot at some time in [from, to).
func frozenDuring(freezes []event, slot int, from, to time.Duration) bool {
	for _, f := range freezes {
		if f.Slot == slot && f.At < to && from < f.At+f.For {
			return true
		}
	}
	return false
}

// shortFreeze bounds a short freeze: a fifth to four fifths of the workers' idle_timeout, so
// no window closes on the wall clock because of it alone.
func shortFreeze(o options) (lo, hi time.Duration) {
	return o.IdleTimeout / 5, o.IdleTimeout * 4 / 5
}

// longFreeze bounds a long freeze: 1 to 5 s past the point where the fleet takes the frozen
// worker's partitions. On Kafka that is the session timeout plus the harness's 1 s before it
// evicts a member kfake still lists; on Kinesis, twice the lease duration (the lease expires
// after lease_duration by the taker's clock, and the taker notices within a renewal interval).
func longFreeze(o options) (lo, hi time.Duration) {
	gone := o.SessionTimeout + time.Second
	if o.Source == "kinesis" {
		gone = 2 * o.LeaseDuration
	}
	return gone + time.Second, gone + 5*time.Second
}
