package kinesis

import (
	"math/rand/v2"
	"testing"
	"time"
)

// A lease is expired only when its counter is known to have stood still for longer than the
// lease duration: from the end of the scan that first saw it to the start of the latest scan.
// A slow scan (it may take up to the lease duration) reads a row at its start as much as at its
// end, so measuring to its end would call a lease renewed just before the read expired.
func TestExpiryMeasuredBetweenScansNotToTheirEnd(t *testing.T) {
	const d = 3 * time.Second
	t0 := time.Unix(1_000_000, 0)
	var o observed
	o.see("a", 5, t0) // a fast scan ends at t0
	// The next scan starts 0.5 s later and takes 2.9 s: the row it read may be 0.5 s old, or
	// 3.4 s; nothing says the counter stood still for 3 s.
	began, end := t0.Add(500*time.Millisecond), t0.Add(3400*time.Millisecond)
	o.see("a", 5, end)
	if o.expired(began, d) {
		t.Errorf("a lease seen unchanged by a scan that began %v after the first ended is expired", began.Sub(t0))
	}
	// A scan that began more than d after the first one ended and still reads the same counter.
	if !o.expired(t0.Add(d+time.Millisecond), d) {
		t.Error("a counter unchanged for longer than the lease duration is not expired")
	}
	// Any write moves the counter: the wait starts again from the scan that saw it.
	o.see("a", 6, t0.Add(4*time.Second))
	if o.expired(t0.Add(4*time.Second+d), d) {
		t.Error("a renewed lease is expired")
	}
	// A free lease (no owner) is never "expired": it is free.
	var free observed
	free.see("", 5, t0)
	if free.expired(t0.Add(10*d), d) {
		t.Error("a free lease is expired")
	}
}

// A lease this worker holds is never free to it, even when its counter seems to have stood
// still (the renewer and the coordinator run apart; a slow round may see an old counter): the
// take's write would move the counter the renewer fences on, and the worker would fence itself
// out of its own lease. A lease the table names it as owner of but it does not hold is free.
func TestBalanceNeverTakesALeaseThisWorkerHolds(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	active := []lease{{Shard: "s0", Owner: "me", Counter: 3}, {Shard: "s1", Owner: "other", Counter: 9}}
	everyExpired := func(lease) bool { return true }
	take, steal := balance("me", active, map[string]bool{"s0": true}, everyExpired, rnd)
	for _, l := range take {
		if l.Shard == "s0" {
			t.Errorf("took s0, which this worker holds: %+v", take)
		}
	}
	if steal != nil {
		t.Errorf("asked for %+v with a lease to take", steal)
	}
	if len(take) != 1 || take[0].Shard != "s1" {
		t.Errorf("took %+v, want the expired s1 only", take)
	}
	take, _ = balance("me", active, map[string]bool{}, func(lease) bool { return false }, rnd)
	if len(take) != 1 || take[0].Shard != "s0" {
		t.Errorf("took %+v, want s0: named ours in the table but not held", take)
	}
}
