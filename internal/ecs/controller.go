package ecs

import (
	"context"
	"sync/atomic"
	"time"
)

// ProtectionController keeps the task protected from ECS scale-in while want says so (the
// worker: while it is behind, see ProtectionConfig), and removes protection once want has been
// false for IdleGrace. Protection is renewed RenewBefore its expiry while wanted. From Drain
// on (the shutdown) it neither takes nor removes protection until Run ends.
type ProtectionController struct {
	client  *ProtectionClient
	cfg     ProtectionConfig
	want    func() bool
	metrics *Metrics

	draining atomic.Bool

	protected bool
	// unsure: an Enable failed, and it may have reached the agent all the same (a timeout, or
	// the shutdown cancelling it, leaves no answer), so the task may be protected for the
	// request's ExpiresInMinutes without the controller knowing. It is released like protection that is
	// held: a Disable of an unprotected task changes nothing, and a protection left behind keeps
	// a task ECS wants gone for up to that long.
	unsure    bool
	expires   time.Time
	idleSince time.Time
}

// NewProtectionController builds a controller. want reports whether the task should be
// protected now; it is called from Run's goroutine once per CheckInterval, must not block,
// and must be safe to call concurrently with the pipeline. m may be nil.
func NewProtectionController(client *ProtectionClient, cfg ProtectionConfig, want func() bool, m *Metrics) *ProtectionController {
	return &ProtectionController{client: client, cfg: cfg, want: want, metrics: m}
}

// Drain tells the controller the task is shutting down. Protection it holds stays (renewed if
// it would expire) until Run's context ends, which the worker does after the final commit: the
// flush and the commit are work a stop would make someone redo. Protection it does not hold is
// not taken: ECS has already decided to stop the task. Safe to call from any goroutine.
func (c *ProtectionController) Drain() { c.draining.Store(true) }

// Protected reports whether the controller believes the task is protected. Not safe for use
// concurrently with Run; for tests and the final log line.
func (c *ProtectionController) Protected() bool { return c.protected }

// Step makes one decision at now. Errors are returned for logging; the state stays such that
// the next Step tries again.
func (c *ProtectionController) Step(ctx context.Context, now time.Time) error {
	if c.protected && !c.expires.IsZero() && !now.Before(c.expires) {
		// The agent dropped it by itself: a renewal failed for longer than RenewBefore.
		c.protected = false
		c.metrics.setProtected(false)
	}
	draining := c.draining.Load()
	if draining && !c.protected {
		return nil
	}
	if draining || c.want() {
		c.idleSince = time.Time{}
		if c.protected && now.Before(c.expires.Add(-c.cfg.RenewBefore)) {
			return nil
		}
		p, err := c.client.Enable(ctx)
		if err != nil {
			c.unsure = true
			return err
		}
		c.protected, c.unsure, c.expires = true, false, p.Expires
		if c.expires.IsZero() {
			c.expires = now.Add(time.Duration(c.cfg.expiresInMinutes()) * time.Minute)
		}
		c.metrics.setProtected(true)
		return nil
	}
	if c.idleSince.IsZero() {
		c.idleSince = now
	}
	if !(c.protected || c.unsure) || now.Sub(c.idleSince) < c.cfg.IdleGrace {
		return nil
	}
	return c.release(ctx)
}

func (c *ProtectionController) release(ctx context.Context) error {
	if _, err := c.client.Disable(ctx); err != nil {
		return err
	}
	c.protected, c.unsure, c.expires = false, false, time.Time{}
	c.metrics.setProtected(false)
	return nil
}

// Run steps every CheckInterval until ctx is done, then removes protection if held (with its
// own short deadline, since ctx is already cancelled): a task that is stopping has nothing
// left to protect. When protection is disabled or the task is not on ECS, Run just waits for
// ctx, so it can sit in a run group like any other actor. onError, if non-nil, receives
// every failed step but one the shutdown interrupted (ctx ended during the call: the release
// that follows covers it). Run returns nil.
func (c *ProtectionController) Run(ctx context.Context, onError func(error)) error {
	if !c.cfg.Enabled || !c.client.Available() {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(c.cfg.CheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if c.protected || c.unsure {
				final, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.RequestTimeout*time.Duration(c.cfg.Attempts))
				err := c.release(final)
				cancel()
				if err != nil && onError != nil {
					onError(err)
				}
			}
			return nil
		case now := <-t.C:
			if err := c.Step(ctx, now); err != nil && onError != nil && ctx.Err() == nil {
				onError(err)
			}
		}
	}
}
