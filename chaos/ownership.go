package main

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"
)

// ownerChange is a partition changing hands, as the group's stable assignments show it.
type ownerChange struct {
	At        time.Time `json:"at"`
	Partition int32     `json:"partition"`
	From      string    `json:"from"` // a worker's client id; "" for nobody
	To        string    `json:"to"`
}

// ownership follows who owns each partition by describing the group every ownershipPoll,
// keeping only what the stable states say (a group in the middle of a rebalance shows no
// assignment). Every change is recorded: it is what lets a trial say which event cost which
// duplicates.
type ownership struct {
	partitions int32

	mu      sync.Mutex
	seen    bool
	last    map[int32]string
	changes []ownerChange
}

const ownershipPoll = 500 * time.Millisecond

func newOwnership(partitions int32) *ownership {
	return &ownership{partitions: partitions, last: map[int32]string{}}
}

// ownerLister says who owns what (bed.owners).
type ownerLister interface {
	owners(ctx context.Context) (map[string][]int32, bool, error)
}

// watch polls g until ctx ends. Errors are skipped: the next poll will do.
func (o *ownership) watch(ctx context.Context, g ownerLister) {
	t := time.NewTicker(ownershipPoll)
	defer t.Stop()
	for {
		owners, stable, err := g.owners(ctx)
		if err == nil && stable {
			o.observe(time.Now(), owners)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// observe records a stable assignment: client id → partitions.
func (o *ownership) observe(at time.Time, owners map[string][]int32) {
	cur := make(map[int32]string, o.partitions)
	for id, ps := range owners {
		for _, p := range ps {
			cur[p] = id
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	// The partitions the trial began with, and any that appeared since (a Kinesis reshard's
	// children).
	ps := union(o.last, cur)
	for p := range o.partitions {
		ps[p] = true
	}
	for _, p := range slices.Sorted(maps.Keys(ps)) {
		if !o.seen || cur[p] != o.last[p] {
			o.changes = append(o.changes, ownerChange{At: at, Partition: p, From: o.last[p], To: cur[p]})
		}
	}
	o.seen, o.last = true, cur
}

// owned is what id owned in the last stable assignment.
func (o *ownership) owned(id string) []int32 {
	o.mu.Lock()
	defer o.mu.Unlock()
	var ps []int32
	for p, owner := range o.last {
		if owner == id {
			ps = append(ps, p)
		}
	}
	slices.Sort(ps)
	return ps
}

// complete reports whether the last stable assignment gave every partition an owner.
func (o *ownership) complete() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.seen {
		return false
	}
	for p := range o.partitions {
		if o.last[p] == "" {
			return false
		}
	}
	return true
}

// history returns every change so far, in order.
func (o *ownership) history() []ownerChange {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]ownerChange(nil), o.changes...)
}
