package lag

import (
	"errors"
	"fmt"
	"time"
)

// Config is the lag model's configuration (the worker's `lag:` section).
type Config struct {
	// Window is the wall-clock span the status and the processing rate are evaluated over.
	// Default 5m: it must cover several commits, and weir commits only when a pipeline window
	// has become durable (window period + flush delay, 1–2 minutes by default), so a shorter
	// span would call a healthy partition STOP between two commits. Burrow's default is 10
	// commits at a 60s commit interval; 5m with weir's 1m windows sees 4–5 commits, and reacts
	// twice as fast. Keep it at least 3× the pipeline window period.
	Window time.Duration `yaml:"window"`

	// Interval is how often the sources sample end and committed offsets (the Kafka poller's
	// period) and the spacing of the retained history. Default 10s: the history then holds 31
	// samples per partition (a few KB), one ListOffsets + OffsetFetch every 10s is
	// negligible broker load, and time lag estimated from the end-offset history is accurate to
	// a fraction of it. Samples arriving faster (Kinesis reports every GetRecords) replace the
	// newest history entry instead of growing it.
	Interval time.Duration `yaml:"interval"`

	// PartitionPoints is how many partitions get their own CloudWatch lag points per window
	// (the ones with the largest lag); the aggregates are always published. Default 0: every
	// per-partition series is a billed custom metric, and Prometheus already has them all.
	PartitionPoints int `yaml:"partition_points"`

	// DrainCap is the value published to CloudWatch for the drain estimate of a partition that
	// is not draining at all (lag > 0, rate 0), because CloudWatch refuses +Inf. Default 7 days:
	// far above any real estimate, so "DrainSeconds >= 604800" reads as "not draining".
	DrainCap time.Duration `yaml:"drain_cap"`
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		Window:   5 * time.Minute,
		Interval: 10 * time.Second,
		DrainCap: 7 * 24 * time.Hour,
	}
}

// Validate reports every invalid field by its yaml name.
func (c Config) Validate() error {
	var errs []error
	if c.Interval < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("lag.interval: %v is below 100ms", c.Interval))
	}
	if c.Window < 2*c.Interval {
		errs = append(errs, fmt.Errorf("lag.window: %v must be at least twice lag.interval (%v) to hold a history", c.Window, c.Interval))
	}
	if c.Interval > 0 && c.Window/c.Interval > 1000 {
		errs = append(errs, fmt.Errorf("lag.window: %v holds more than 1000 samples of lag.interval %v per partition", c.Window, c.Interval))
	}
	if c.PartitionPoints < 0 {
		errs = append(errs, fmt.Errorf("lag.partition_points: %d is negative", c.PartitionPoints))
	}
	if c.DrainCap < time.Second {
		errs = append(errs, errors.New("lag.drain_cap: must be at least 1s"))
	}
	return errors.Join(errs...)
}

// capacity is the most samples a History keeps: one per Interval/2 over the Window (the
// closest spacing History allows), the anchor at or before the window start, and the newest.
func (c Config) capacity() int { return 2*int(c.Window/c.Interval) + 2 }
