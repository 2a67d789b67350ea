package scaling

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Config is the autoscaling policy. It is embedded in the worker's config under `scaling:`
// (environment overrides WEIR_SCALING_…). Every field has a default chosen for ECS target
// tracking, which samples one-minute datapoints; the reasoning is next to each field.
type Config struct {
	// Period is how often the signal is computed and published. Default 60s: CloudWatch
	// target-tracking alarms evaluate one-minute datapoints, so publishing faster buys nothing
	// and publishing slower leaves minutes without data (which target tracking treats as
	// "do not scale in").
	Period time.Duration `yaml:"period"`

	// TargetUtilization is the share of its vCPUs the busiest task (the one holding the
	// hottest partitions) should use in steady state, in (0, 1]. Default 0.7 (Flink's
	// autoscaler default): 30 % headroom absorbs a burst for the minutes it takes target
	// tracking to react and a new Fargate task to start.
	TargetUtilization float64 `yaml:"target_utilization"`

	// CatchUpWindow is how long the fleet may take to drain the current lag on top of keeping
	// up with arrivals: lag contributes lag ÷ CatchUpWindow records/s of demand. Default 10m:
	// detection (3 one-minute datapoints) + task start (~1m) + drain must fit inside it, and a
	// shorter window turns every small lag spike into a scale-out.
	CatchUpWindow time.Duration `yaml:"catch_up_window"`

	// Tolerance is the relative band around the current task count inside which the count is
	// held, in [0, 1). Default 0.1: the per-minute rate estimates move by a few percent on
	// their own; acting on that noise is what makes a fleet oscillate (Prometheus remote-write
	// uses 0.3 for shards, which are far cheaper to add than tasks).
	Tolerance float64 `yaml:"tolerance"`

	// ScaleDownMaxBacklog refuses any scale-down while the lag would take longer than this to
	// drain at the current fleet's true rate. Default 30s: a fleet that is behind must not
	// shrink even if arrivals just dropped, or it scales out again minutes later.
	ScaleDownMaxBacklog time.Duration `yaml:"scale_down_max_backlog"`

	// MinTasks is the lower bound of the decision. Default 1: a stream worker at zero tasks
	// cannot observe its own arrival rate, so it could never scale back out by itself.
	MinTasks int `yaml:"min_tasks"`

	// MaxTasks is an optional upper bound below the partition count (0 = only the partition
	// count bounds). The CloudFormation MaxCapacity should match it.
	MaxTasks int `yaml:"max_tasks"`

	// AlignToPartitions sizes the fleet so that its busiest task keeps up: with P partitions
	// on N tasks some task owns ⌈P/N⌉ of them, the hottest among them (evenly loaded, the fleet
	// delivers P ÷ ⌈P/N⌉ tasks' worth of rate: 32 partitions on 22 tasks work like 16 tasks;
	// with a hot partition, less). Default true, like Flink's key-group alignment: without it
	// a scale-out lands on a count whose busiest task is still over target and the backlog
	// drains far too slowly.
	AlignToPartitions bool `yaml:"align_to_partitions"`

	// MinBusyFraction is the floor applied to the fleet's CPU utilisation (CPU seconds per
	// second ÷ the tasks' vCPUs) before the processed rate is divided by it. Default 0.05: at
	// 5 % the estimate is already 20× the observed rate; below that the CPU a nearly idle fleet
	// spends is mostly overhead and a division would claim near-infinite capacity, sizing the
	// fleet down to MinTasks just before a burst. It applies to the fleet as a whole, never
	// to one cold task.
	MinBusyFraction float64 `yaml:"min_busy_fraction"`
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		Period:              60 * time.Second,
		TargetUtilization:   0.7,
		CatchUpWindow:       10 * time.Minute,
		Tolerance:           0.1,
		ScaleDownMaxBacklog: 30 * time.Second,
		MinTasks:            1,
		MaxTasks:            0,
		AlignToPartitions:   true,
		MinBusyFraction:     0.05,
	}
}

// Validate reports the first invalid field by its yaml name.
func (c Config) Validate() error {
	var errs []error
	if c.Period < time.Second {
		errs = append(errs, fmt.Errorf("scaling.period: %v is below 1s", c.Period))
	}
	if !(c.TargetUtilization > 0 && c.TargetUtilization <= 1) {
		errs = append(errs, fmt.Errorf("scaling.target_utilization: %v is outside (0, 1]", c.TargetUtilization))
	}
	if c.CatchUpWindow < time.Second {
		errs = append(errs, fmt.Errorf("scaling.catch_up_window: %v is below 1s", c.CatchUpWindow))
	}
	if !(c.Tolerance >= 0 && c.Tolerance < 1) {
		errs = append(errs, fmt.Errorf("scaling.tolerance: %v is outside [0, 1)", c.Tolerance))
	}
	if c.ScaleDownMaxBacklog < 0 {
		errs = append(errs, fmt.Errorf("scaling.scale_down_max_backlog: %v is negative", c.ScaleDownMaxBacklog))
	}
	if c.MinTasks < 1 {
		errs = append(errs, fmt.Errorf("scaling.min_tasks: %d is below 1 (a worker at zero tasks cannot see its own load)", c.MinTasks))
	}
	if c.MaxTasks != 0 && c.MaxTasks < c.MinTasks {
		errs = append(errs, fmt.Errorf("scaling.max_tasks: %d is below min_tasks %d", c.MaxTasks, c.MinTasks))
	}
	if !(c.MinBusyFraction > 0 && c.MinBusyFraction <= 1) || math.IsNaN(c.MinBusyFraction) {
		errs = append(errs, fmt.Errorf("scaling.min_busy_fraction: %v is outside (0, 1]", c.MinBusyFraction))
	}
	return errors.Join(errs...)
}
