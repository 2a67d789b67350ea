package main

import (
	"math/rand/v2"
	"time"
)

// action is what a chaos event does to the fleet.
type action string

const (
	// actKill is kill -9: no drain, no commit, no leaving the group.
	actKill action = "kill"
	// actTerm is SIGTERM, what ECS sends on scale-in or a deploy: the worker drains, commits
	// and leaves the group.
	actTerm action = "term"
	// actStart starts a stopped or killed worker again; on the extra slot, a fourth worker
	// joining the fleet (a scale-out).
	actStart action = "start"
	// actSplit splits a shard of a Kinesis stream (-splits): not drawn by the schedule, so a
	// seed's kills and restarts are the same with and without it.
	actSplit action = "split"
	// actMerge merges two adjacent shards of a Kinesis stream (-merges), not drawn by the
	// schedule either.
	actMerge action = "merge"
	// actFreeze stops a worker with SIGSTOP and continues it with SIGCONT after the event's
	// For (freeze.go); drawn apart from the schedule, as splits are.
	actFreeze action = "freeze"
)

// event is one step of a trial's schedule.
type event struct {
	// At is the time from the producer's start.
	At     time.Duration `json:"at"`
	Action action        `json:"action"`
	// Slot is the worker: 1..workers are the fleet, workers+1 the extra one that comes and
	// goes.
	Slot int `json:"slot"`
	// For is how long a freeze lasts; Long marks one meant to outlast the worker's session
	// or lease (longFreeze), as opposed to a short one (shortFreeze).
	For  time.Duration `json:"for,omitempty"`
	Long bool          `json:"long,omitempty"`
}

// scheduleConfig bounds a schedule.
type scheduleConfig struct {
	Workers int           // the fleet's size; the extra worker is slot Workers+1
	First   time.Duration // the first event
	Last    time.Duration // no event after this
	MinGap  time.Duration
	MaxGap  time.Duration
}

// newSchedule draws a trial's chaos from seed alone, so a trial can be replayed: events at
// random gaps, each a kill -9 or a SIGTERM of a running worker, a restart of a stopped one, or
// the extra worker starting or stopping. It never stops the last running worker (records must
// keep flowing). Until every kind of event has happened once it draws among the kinds not yet
// done, so any schedule of five events or more covers kill, SIGTERM, restart and the extra
// worker's coming and going; after that, kills and restarts are the most likely.
func newSchedule(seed uint64, c scheduleConfig) []event {
	rng := rand.New(rand.NewPCG(seed, seed^0x63686173))
	up := make([]bool, c.Workers+2) // by slot; slot 0 unused
	for s := 1; s <= c.Workers; s++ {
		up[s] = true
	}
	extra := c.Workers + 1
	done := map[string]bool{}
	var evs []event
	for at := c.First; at <= c.Last; at += c.MinGap + time.Duration(rng.Int64N(int64(c.MaxGap-c.MinGap)+1)) {
		var choices []choice
		running := 0
		for s := 1; s <= extra; s++ {
			if up[s] {
				running++
			}
		}
		for s := 1; s <= extra; s++ {
			switch {
			case up[s] && running > 1 && s == extra:
				choices = append(choices, choice{event{At: at, Action: actKill, Slot: s}, "extra stop", 1},
					choice{event{At: at, Action: actTerm, Slot: s}, "extra stop", 1})
			case up[s] && running > 1:
				choices = append(choices, choice{event{At: at, Action: actKill, Slot: s}, "kill", 4},
					choice{event{At: at, Action: actTerm, Slot: s}, "term", 2})
			case !up[s] && s == extra:
				choices = append(choices, choice{event{At: at, Action: actStart, Slot: s}, "extra start", 1})
			case !up[s]:
				choices = append(choices, choice{event{At: at, Action: actStart, Slot: s}, "restart", 4})
			}
		}
		var fresh []choice
		for _, ch := range choices {
			if !done[ch.kind] {
				fresh = append(fresh, ch)
			}
		}
		if len(fresh) > 0 {
			choices = fresh
		}
		ch := pick(rng, choices)
		evs = append(evs, ch.ev)
		done[ch.kind] = true
		up[ch.ev.Slot] = ch.ev.Action == actStart
	}
	return evs
}

// choice is a possible next event, with what kind of event it is and how likely.
type choice struct {
	ev     event
	kind   string
	weight int
}

// pick draws a choice by weight.
func pick(rng *rand.Rand, choices []choice) choice {
	total := 0
	for _, ch := range choices {
		total += ch.weight
	}
	n := rng.IntN(total)
	for _, ch := range choices[:len(choices)-1] {
		if n -= ch.weight; n < 0 {
			return ch
		}
	}
	return choices[len(choices)-1]
}
