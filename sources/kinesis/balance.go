package kinesis

import (
	"math/rand/v2"
	"sort"
)

// balance decides which leases this worker takes in one round, given the active leases (not
// finished, parents finished: the ones that can be read now). It follows the KCL's taker:
//
//   - The workers are the owners of live leases, plus this one; the target is
//     ceil(active/workers), so every worker ends with the floor or the ceiling of the fair
//     share.
//   - A worker below target takes free leases (no owner, an expired owner, or its own from a
//     previous life) up to the target, in random order so workers racing for the same leases
//     rarely collide (the conditional write decides).
//   - Only when no free lease is left does it steal, one lease at a time (none while a lease
//     it asked for is still being handed over), from the most loaded worker (by asking for a
//     handoff, see requestHandoff): when that worker holds more than the target, or holds
//     exactly the target while this one is two or more below it. Either way the move brings
//     the two closer without reversing the order of their counts, so the victim never wants
//     the lease back: the fleet settles, and stops moving leases, at counts within one of each
//     other (4 shards on 2 workers: 2/2, never 3/1). The caller damps further: it steals only
//     when two consecutive rounds chose the same victim, so a worker that just started or just
//     lost a lease does not trigger a storm of steals.
//
// held says which leases this worker holds in memory; a lease the table says is ours but that we
// do not hold (we lost track of it) counts as free, one we hold never does.
func balance(me string, active []lease, held map[string]bool, expired func(lease) bool, rnd *rand.Rand) (take []lease, steal *lease) {
	count := map[string]int{me: 0}
	byOwner := map[string][]lease{}
	var free []lease
	asked := false // a lease is being handed to this worker
	for _, l := range active {
		switch {
		case l.Owner == "" || (l.Owner == me && !held[l.Shard]) || (l.Owner != me && expired(l)):
			// A lease this worker holds is never free to it, however long its counter seems
			// to have stood still: the renewer decides when to give it up, and a take would
			// move the counter under the renewer's feet and fence it out.
			free = append(free, l)
		case l.Handoff != "":
			// Being handed over: it counts for the worker that asked for it, so that worker
			// does not ask again and the owner does not take another in its place.
			count[l.Handoff]++
			asked = asked || l.Handoff == me
		default:
			count[l.Owner]++
			byOwner[l.Owner] = append(byOwner[l.Owner], l)
		}
	}
	workers := len(count)
	target := (len(active) + workers - 1) / workers
	need := target - count[me]
	if need <= 0 {
		return nil, nil
	}
	if len(free) > 0 {
		rnd.Shuffle(len(free), func(i, j int) { free[i], free[j] = free[j], free[i] })
		return free[:min(need, len(free))], nil
	}
	if asked {
		return nil, nil // one handoff at a time: the next once this one is done
	}
	owners := make([]string, 0, len(count))
	for o := range count {
		owners = append(owners, o)
	}
	sort.Strings(owners) // deterministic tie-break
	victim := ""
	for _, o := range owners {
		if o != me && len(byOwner[o]) > 0 && (victim == "" || count[o] > count[victim]) {
			victim = o
		}
	}
	if victim == "" || count[victim] < target || (count[victim] == target && need < 2) {
		return nil, nil
	}
	ls := byOwner[victim]
	l := ls[rnd.IntN(len(ls))]
	return nil, &l
}

// activeLeases returns the leases that can be read now: not finished, and every parent
// finished. A parent without a lease counts as finished: leases are created parents first, so
// a missing parent lease means the parent was read to its end and its lease deleted once its
// children passed it (finishedToDelete), or it left the stream's retention, or it was never to
// be read (see syncShards' bootstrap).
func activeLeases(all []lease) []lease {
	finished := make(map[string]bool, len(all))
	known := make(map[string]bool, len(all))
	for _, l := range all {
		known[l.Shard] = true
		finished[l.Shard] = l.finished()
	}
	var out []lease
	for _, l := range all {
		if l.finished() {
			continue
		}
		ready := true
		for _, p := range l.Parents {
			if known[p] && !finished[p] {
				ready = false
			}
		}
		if ready {
			out = append(out, l)
		}
	}
	return out
}
