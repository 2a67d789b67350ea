package aggregator

import (
	"errors"
	"fmt"
	"time"

	"github.com/weirstream/weir/pipeline"
)

// Config is the worker's `aggregator:` section. Zero fields take the defaults ApplyDefaults
// documents; the defaults depend on the window configuration.
type Config struct {
	// Grace is how long a partition that has delivered nothing new may hold back a window
	// that it alone (with others like it) has not passed, before the window is merged without
	// it and the report names it as missing. A partition that keeps delivering (a backlog
	// drain) never trips it. Default max(2 × window.period, 60s,
	// window.period + 2 × (window.idle_timeout + window.allowed_lateness)). It must exceed
	// window.period + window.idle_timeout + window.allowed_lateness: a healthy partition
	// delivers one partial per period, and a partition that turns quiet closes its next window
	// idle_timeout + allowed_lateness after that.
	Grace time.Duration `yaml:"grace"`
	// Poll is how often the store is listed while a window is incomplete. Default
	// max(1s, window.period / 10).
	Poll time.Duration `yaml:"poll"`
	// WatchFor is how long a window merged with missing partitions is watched for them: a
	// partial that arrives in that time makes the window's reports be rewritten. Default 1h.
	WatchFor time.Duration `yaml:"watch_for"`
	// MaxWatched bounds the windows watched at once; beyond it the oldest stops being
	// watched. Each costs one LIST per poll. Default 64.
	MaxWatched int `yaml:"max_watched"`
	// ReadConcurrency is how many partials are read (GET and decode) at once. Default 16.
	ReadConcurrency int `yaml:"read_concurrency"`
	// PartitionsRefresh is how often the partition set is asked for again while windows wait.
	// Default 1m. The set is also asked for before each window is merged or skipped: a
	// partition that joined since (a Kinesis reshard's children) must not be left out of a
	// window merged complete, which is never watched for late partials.
	PartitionsRefresh time.Duration `yaml:"partitions_refresh"`
	// StateName names the aggregator's state object (kind=state/name=<StateName>.msgpack).
	// Default "aggregator".
	StateName string `yaml:"state_name"`
}

// ApplyDefaults fills zero fields from the documented defaults for window configuration w.
func (c *Config) ApplyDefaults(w pipeline.WindowConfig) {
	if c.Grace == 0 {
		c.Grace = max(2*w.Period, 60*time.Second, w.Period+2*(w.IdleTimeout+w.AllowedLateness))
	}
	if c.Poll == 0 {
		c.Poll = max(time.Second, w.Period/10)
	}
	if c.WatchFor == 0 {
		c.WatchFor = time.Hour
	}
	if c.MaxWatched == 0 {
		c.MaxWatched = 64
	}
	if c.ReadConcurrency == 0 {
		c.ReadConcurrency = 16
	}
	if c.PartitionsRefresh == 0 {
		c.PartitionsRefresh = time.Minute
	}
	if c.StateName == "" {
		c.StateName = "aggregator"
	}
}

// Validate reports every invalid field by its configuration path.
func (c Config) Validate(w pipeline.WindowConfig) error {
	var errs []error
	if floor := w.Period + w.IdleTimeout + w.AllowedLateness; c.Grace <= floor {
		errs = append(errs, fmt.Errorf("aggregator.grace: %v must exceed window.period + window.idle_timeout + "+
			"window.allowed_lateness (%v), or healthy partitions are reported missing", c.Grace, floor))
	}
	if c.Poll <= 0 {
		errs = append(errs, fmt.Errorf("aggregator.poll: %v must be positive", c.Poll))
	}
	if c.WatchFor <= 0 {
		errs = append(errs, fmt.Errorf("aggregator.watch_for: %v must be positive", c.WatchFor))
	}
	if c.MaxWatched < 1 || c.MaxWatched > 10_000 {
		errs = append(errs, fmt.Errorf("aggregator.max_watched: %d is not in [1, 10000]", c.MaxWatched))
	}
	if c.ReadConcurrency < 1 || c.ReadConcurrency > 256 {
		errs = append(errs, fmt.Errorf("aggregator.read_concurrency: %d is not in [1, 256]", c.ReadConcurrency))
	}
	if c.PartitionsRefresh <= 0 {
		errs = append(errs, fmt.Errorf("aggregator.partitions_refresh: %v must be positive", c.PartitionsRefresh))
	}
	if c.StateName == "" {
		errs = append(errs, errors.New("aggregator.state_name: must not be empty"))
	}
	return errors.Join(errs...)
}
