package main

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Freezes replay from the seed, leave the seed's other events as they were, alternate short
// (below the idle timeout) and long (past the session), and each freezes a worker the schedule
// has running and not already frozen.
func TestFreezesReplayAndFreezeRunningWorkers(t *testing.T) {
	for _, o := range []options{defaultOptions(), shortOptions()} {
		sc := scheduleConfig{Workers: o.Workers, First: o.First, Last: o.Produce - o.MinGap/2, MinGap: o.MinGap, MaxGap: o.MaxGap}
		both := 0
		for seed := range uint64(200) {
			base := newSchedule(seed, sc)
			sched := withFreezes(slices.Clone(base), seed, o)
			if !reflect.DeepEqual(sched, withFreezes(slices.Clone(base), seed, o)) {
				t.Fatalf("seed %d: the same seed drew two sets of freezes", seed)
			}
			var rest, freezes []event
			for _, e := range sched {
				if e.Action == actFreeze {
					freezes = append(freezes, e)
				} else {
					rest = append(rest, e)
				}
			}
			if !reflect.DeepEqual(rest, base) {
				t.Fatalf("seed %d: freezes changed the schedule:\n%v\n%v", seed, rest, base)
			}
			if len(freezes) == 0 || len(freezes) > o.Freezes {
				t.Fatalf("seed %d: %d freezes, want 1..%d", seed, len(freezes), o.Freezes)
			}
			kinds := map[bool]bool{}
			for i, f := range freezes {
				lo, hi := shortFreeze(o)
				if f.Long {
					lo, hi = longFreeze(o)
				}
				if f.For < lo || f.For > hi || (!f.Long && f.For >= o.IdleTimeout) || (f.Long && f.For <= o.SessionTimeout+time.Second) {
					t.Fatalf("seed %d: freeze %v (long %v) outside [%v, %v]", seed, f.For, f.Long, lo, hi)
				}
				kinds[f.Long] = true
				up := map[int]bool{}
				for s := 1; s <= o.Workers; s++ {
					up[s] = true
				}
				for _, e := range base {
					if e.At <= f.At {
						up[e.Slot] = e.Action == actStart
					}
				}
				if !up[f.Slot] {
					t.Fatalf("seed %d: freeze %v of worker %d, which is not running", seed, f.At, f.Slot)
				}
				for _, g := range freezes[:i] {
					if g.Slot == f.Slot && f.At < g.At+g.For {
						t.Fatalf("seed %d: worker %d frozen at %v while frozen since %v", seed, f.Slot, f.At, g.At)
					}
				}
			}
			if kinds[false] && kinds[true] {
				both++
			}
		}
		if both < 190 {
			t.Errorf("%d of 200 seeds froze a worker both briefly and long, want nearly all", both)
		}
	}
}

// A SIGTERM to a frozen worker continues it first: stopped, it would take the signal only when
// its freeze ended, and its drain would be escalated to SIGKILL for nothing. And a frozen
// worker is still running: it exits on its own only as a failure.
func TestTermThawsAFrozenWorker(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "worker.sh")
	// A worker that exits 0 on SIGTERM, as weir's drain does.
	if err := os.WriteFile(script, []byte("#!/bin/sh\ntrap 'exit 0' TERM\nwhile :; do sleep 0.1; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := newFleet(script, "unused.yaml", dir, "WEIR_ID", os.Environ(), 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer f.killAll()
	p, err := f.start(1)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the trap installed
	f.freeze(p)
	if !waitState(p, 'T') {
		t.Fatalf("worker not stopped after SIGSTOP")
	}
	since := time.Now()
	if _, err := f.term(1); err != nil {
		t.Fatal(err)
	}
	r := f.waitTerm(p, since)
	if r.Escalated || r.ExitErr != "" {
		t.Errorf("SIGTERM of a frozen worker: %+v, want a clean exit", r)
	}
	if u := f.unexpectedExits(); len(u) != 0 {
		t.Errorf("unexpected exits %v", u)
	}
}

// waitState waits up to 2 s for p's state in /proc to be want ('T': stopped).
func waitState(p *workerProc, want byte) bool {
	for range 20 {
		raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.cmd.Process.Pid), "stat"))
		if err == nil {
			// pid (comm) state ...: the state follows the last ')'.
			s := string(raw)
			if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) && s[i+2] == want {
				return true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}
