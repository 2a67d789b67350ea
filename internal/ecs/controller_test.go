package ecs

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestControllerProtectsRenewsAndReleasesWithHysteresis(t *testing.T) {
	// The agent reports no expiration date, so the controller counts 10 minutes itself.
	agent := newFakeAgent(t, reply{200, `{"protection":{"ProtectionEnabled":true,"TaskArn":"arn:aws:ecs:eu-west-1:1:task/weir/abc"}}`, 0})
	cfg := testConfig()
	var busy atomic.Bool
	c := NewProtectionController(NewProtectionClient(agent.uri(), nil, cfg, nil), cfg, busy.Load, nil)
	ctx := context.Background()
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	step := func(at time.Duration, wantCalls int, wantProtected bool) {
		t.Helper()
		if err := c.Step(ctx, t0.Add(at)); err != nil {
			t.Fatalf("at %v: %v", at, err)
		}
		if n := len(agent.requests()); n != wantCalls || c.Protected() != wantProtected {
			t.Fatalf("at %v: %d agent calls (want %d), protected %v (want %v)", at, n, wantCalls, c.Protected(), wantProtected)
		}
	}
	step(0, 0, false) // idle from the start: nothing to do
	busy.Store(true)
	step(5*time.Second, 1, true)               // behind: protect
	step(10*time.Second, 1, true)              // still protected, no call
	step(7*time.Minute, 1, true)               // expiry at 10m05s, renew from 7m05s
	step(7*time.Minute+5*time.Second, 2, true) // renewed
	busy.Store(false)
	step(8*time.Minute, 2, true) // caught up, inside the grace
	busy.Store(true)
	step(8*time.Minute+10*time.Second, 2, true) // behind again: the dip did not drop protection
	busy.Store(false)
	step(8*time.Minute+20*time.Second, 2, true)
	step(8*time.Minute+50*time.Second, 3, false) // caught up for 30 s: released
	if got := agent.requests(); got[2] != `{"ProtectionEnabled":false}` {
		t.Fatalf("release body %q", got[2])
	}
	step(9*time.Minute, 3, false) // stays released without calls
}

func TestControllerRetriesAfterAFailedEnable(t *testing.T) {
	agent := newFakeAgent(t, reply{500, `{"error":{"Code":"ServerException","Message":"x"}}`, 0},
		reply{500, `{"error":{"Code":"ServerException","Message":"x"}}`, 0},
		reply{500, `{"error":{"Code":"ServerException","Message":"x"}}`, 0},
		reply{200, okEnabled, 0})
	cfg := testConfig()
	c := NewProtectionController(NewProtectionClient(agent.uri(), nil, cfg, nil), cfg, func() bool { return true }, nil)
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := c.Step(context.Background(), t0); err == nil || c.Protected() {
		t.Fatalf("first step: %v, protected %v", err, c.Protected())
	}
	if err := c.Step(context.Background(), t0.Add(5*time.Second)); err != nil || !c.Protected() {
		t.Fatalf("second step: %v, protected %v", err, c.Protected())
	}
	// The agent said it expires at 12:10: renewal starts at 12:07.
	if err := c.Step(context.Background(), t0.Add(6*time.Minute)); err != nil || len(agent.requests()) != 4 {
		t.Fatalf("renewed too early: %d calls, %v", len(agent.requests()), err)
	}
}

func TestControllerRunReleasesOnShutdown(t *testing.T) {
	agent := newFakeAgent(t, reply{200, okEnabled, 0}, reply{200, okDisabled, 0})
	cfg := testConfig()
	cfg.CheckInterval = 10 * time.Millisecond
	c := NewProtectionController(NewProtectionClient(agent.uri(), nil, cfg, nil), cfg, func() bool { return true }, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx, func(err error) { t.Error(err) }) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(agent.requests()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := agent.requests()
	if len(got) != 2 || got[1] != `{"ProtectionEnabled":false}` {
		t.Fatalf("requests %q", got)
	}
}

// A shutdown that cancels an Enable the agent has received leaves the task protected or not,
// nobody knows: Run releases it all the same, and does not report the cancelled call as a
// failure. Before, the controller believed itself unprotected, sent no release, and the task
// stayed protected for ExpiresInMinutes after it had stopped.
func TestControllerRunReleasesAnEnableTheShutdownCancelled(t *testing.T) {
	agent := newFakeAgent(t, reply{200, okEnabled, time.Minute}, reply{200, okDisabled, 0})
	cfg := testConfig()
	cfg.CheckInterval = 10 * time.Millisecond
	c := NewProtectionController(NewProtectionClient(agent.uri(), nil, cfg, nil), cfg, func() bool { return true }, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx, func(err error) { t.Errorf("reported: %v", err) }) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(agent.requests()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel() // the agent holds the Enable's answer for a minute: the shutdown cancels it
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := agent.requests()
	if len(got) != 2 || got[1] != `{"ProtectionEnabled":false}` {
		t.Fatalf("requests %q: want the Enable, then a release", got)
	}
	if c.Protected() {
		t.Fatal("still protected after the release")
	}
}

// An Enable that timed out may have landed: once the task stops wanting protection, the idle
// release goes out for it as for protection the controller knows it holds.
func TestControllerReleasesAnEnableThatTimedOut(t *testing.T) {
	agent := newFakeAgent(t, reply{200, okEnabled, time.Minute}, reply{200, okDisabled, 0})
	cfg := testConfig()
	cfg.Attempts = 1
	want := true
	c := NewProtectionController(NewProtectionClient(agent.uri(), nil, cfg, nil), cfg, func() bool { return want }, nil)
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := c.Step(context.Background(), t0); err == nil || c.Protected() {
		t.Fatalf("an Enable past RequestTimeout: %v, protected %v", err, c.Protected())
	}
	want = false
	c.Step(context.Background(), t0.Add(time.Second))
	if err := c.Step(context.Background(), t0.Add(time.Second+cfg.IdleGrace)); err != nil {
		t.Fatal(err)
	}
	if got := agent.requests(); len(got) != 2 || got[1] != `{"ProtectionEnabled":false}` {
		t.Fatalf("requests %q: want the Enable, then a release", got)
	}
}

func TestControllerRunDisabledWaitsWithoutCalls(t *testing.T) {
	agent := newFakeAgent(t, reply{200, okEnabled, 0})
	cfg := testConfig()
	cfg.Enabled = false
	c := NewProtectionController(NewProtectionClient(agent.uri(), nil, cfg, nil), cfg, func() bool { return true }, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := c.Run(ctx, nil); err != nil || time.Since(start) < 40*time.Millisecond {
		t.Fatalf("Run = %v after %v: must wait for ctx", err, time.Since(start))
	}
	if n := len(agent.requests()); n != 0 {
		t.Fatalf("%d agent calls while disabled", n)
	}
}

// From Drain on the controller keeps what it has: protection held stays (renewed, not released
// however long the task has not been behind) until Run ends; protection not held is not taken.
func TestControllerDrainKeepsProtectionUntilRunEnds(t *testing.T) {
	agent := newFakeAgent(t, reply{200, `{"protection":{"ProtectionEnabled":true,"TaskArn":"arn:aws:ecs:eu-west-1:1:task/weir/abc"}}`, 0})
	cfg := testConfig()
	var behind atomic.Bool
	c := NewProtectionController(NewProtectionClient(agent.uri(), nil, cfg, nil), cfg, behind.Load, nil)
	ctx := context.Background()
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	behind.Store(true)
	if err := c.Step(ctx, t0); err != nil || !c.Protected() {
		t.Fatalf("behind: %v, protected %v", err, c.Protected())
	}
	behind.Store(false)
	c.Drain()
	for _, at := range []time.Duration{time.Minute, 5 * time.Minute} { // well past the idle grace
		if err := c.Step(ctx, t0.Add(at)); err != nil || !c.Protected() {
			t.Fatalf("draining at %v: %v, protected %v", at, err, c.Protected())
		}
	}
	if n := len(agent.requests()); n != 1 {
		t.Fatalf("%d agent calls while draining inside the expiry, want none after the first", n)
	}
	if err := c.Step(ctx, t0.Add(8*time.Minute)); err != nil || len(agent.requests()) != 2 {
		t.Fatalf("draining at the renewal time: %v, %d calls, want a renewal", err, len(agent.requests()))
	}

	fresh := NewProtectionController(NewProtectionClient(agent.uri(), nil, cfg, nil), cfg, func() bool { return true }, nil)
	fresh.Drain()
	if err := fresh.Step(ctx, t0); err != nil || fresh.Protected() || len(agent.requests()) != 2 {
		t.Fatalf("draining unprotected and behind: %v, protected %v: ECS is already stopping the task", err, fresh.Protected())
	}
}
