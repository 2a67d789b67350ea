package ecs

import (
	"errors"
	"fmt"
	"time"
)

// ProtectionConfig controls task scale-in protection. Embedded in the worker's config under
// `ecs.protection:` (environment WEIR_ECS_PROTECTION_…).
//
// The rule: the task is protected while it drains a backlog, that is while one of its
// partitions is more than Behind behind its stream, and through its shutdown (protection it
// holds at SIGTERM is kept until the final commit, then removed); it is not protected while it
// keeps up with live traffic, however busy, because a protected task blocks scale-in and
// deployments. Protection comes off IdleGrace after the task stopped being behind.
type ProtectionConfig struct {
	// Enabled turns protection on. Default false: protection blocks ECS scale-in and
	// deployments for as long as it is held, so it is opt-in; the drain on SIGTERM already
	// makes scale-in safe, protection only spares a task that is catching up from being the
	// one stopped (its partitions would move, and their open windows be redone, mid-backlog).
	Enabled bool `yaml:"enabled"`
	// Behind protects the task while the newest record it has processed on any of its
	// partitions is older than this (the lag tracker's time lag; Kinesis MillisBehindLatest).
	// Default 60s: live traffic is processed within seconds, a window period behind at
	// most, so only a backlog (a burst, a restart, partitions taken over) exceeds it.
	Behind time.Duration `yaml:"behind"`
	// Expiry is how long one PUT protects the task, rounded up to whole minutes (the agent takes
	// ExpiresInMinutes, 1 to 2880). Default 10m: if the worker hangs or dies without removing
	// protection, ECS may scale the task in again after at most this long.
	Expiry time.Duration `yaml:"expiry"`
	// RenewBefore renews protection this long before it expires while the task is still
	// behind.
	// Default 3m: three check intervals' and several retries' worth of margin.
	RenewBefore time.Duration `yaml:"renew_before"`
	// IdleGrace is how long the task must not be behind before protection is removed
	// (hysteresis). Default 30s: a drain's lag dips and rises as fetches and windows come, and
	// dropping and re-taking protection on every dip costs two agent calls and, worse, opens a
	// moment in which a scale-in can pick this task.
	IdleGrace time.Duration `yaml:"idle_grace"`
	// CheckInterval is how often the rule is evaluated. Default 5s.
	CheckInterval time.Duration `yaml:"check_interval"`
	// RequestTimeout bounds one agent call. Default 2s: the agent is local; a slow answer means
	// it is struggling and the next attempt is better than waiting.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// Attempts is the number of tries per operation for network errors, timeouts and 5xx
	// answers (4xx are not retried). Default 3.
	Attempts int `yaml:"attempts"`
	// Backoff is the wait before the second attempt, doubled for each further one. Default 200ms.
	Backoff time.Duration `yaml:"backoff"`
}

// DefaultProtectionConfig returns the documented defaults.
func DefaultProtectionConfig() ProtectionConfig {
	return ProtectionConfig{
		Enabled:        false,
		Behind:         time.Minute,
		Expiry:         10 * time.Minute,
		RenewBefore:    3 * time.Minute,
		IdleGrace:      30 * time.Second,
		CheckInterval:  5 * time.Second,
		RequestTimeout: 2 * time.Second,
		Attempts:       3,
		Backoff:        200 * time.Millisecond,
	}
}

// Validate reports every invalid field by its yaml name.
func (c ProtectionConfig) Validate() error {
	var errs []error
	if c.Behind <= 0 {
		errs = append(errs, fmt.Errorf("ecs.protection.behind: %v must be positive", c.Behind))
	}
	if c.Expiry < time.Minute || c.Expiry > 2880*time.Minute {
		errs = append(errs, fmt.Errorf("ecs.protection.expiry: %v is outside the agent's 1m–48h", c.Expiry))
	}
	if c.RenewBefore <= 0 || c.RenewBefore >= c.Expiry {
		errs = append(errs, fmt.Errorf("ecs.protection.renew_before: %v must be positive and below expiry %v", c.RenewBefore, c.Expiry))
	}
	if c.CheckInterval <= 0 || c.CheckInterval >= c.RenewBefore {
		errs = append(errs, fmt.Errorf("ecs.protection.check_interval: %v must be positive and below renew_before %v", c.CheckInterval, c.RenewBefore))
	}
	if c.IdleGrace < 0 {
		errs = append(errs, fmt.Errorf("ecs.protection.idle_grace: %v is negative", c.IdleGrace))
	}
	if c.RequestTimeout <= 0 {
		errs = append(errs, fmt.Errorf("ecs.protection.request_timeout: %v must be positive", c.RequestTimeout))
	}
	if c.Attempts < 1 {
		errs = append(errs, fmt.Errorf("ecs.protection.attempts: %d is below 1", c.Attempts))
	}
	if c.Backoff < 0 {
		errs = append(errs, fmt.Errorf("ecs.protection.backoff: %v is negative", c.Backoff))
	}
	return errors.Join(errs...)
}

// expiresInMinutes rounds Expiry up to the agent's unit.
func (c ProtectionConfig) expiresInMinutes() int {
	return int((c.Expiry + time.Minute - 1) / time.Minute)
}
