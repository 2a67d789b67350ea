package aggregator

import (
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline"
)

func TestConfigDefaults(t *testing.T) {
	for _, c := range []struct {
		name            string
		period, idle, l time.Duration
		grace, poll     time.Duration
	}{
		{"the worker's default windows", time.Minute, 10 * time.Second, 5 * time.Second, 2 * time.Minute, 6 * time.Second},
		{"make run's 10s windows", 10 * time.Second, 10 * time.Second, 5 * time.Second, time.Minute, time.Second},
		{"long quiet partitions", time.Minute, 5 * time.Minute, time.Minute, 13 * time.Minute, 6 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := pipeline.DefaultWindowConfig()
			w.Period, w.IdleTimeout, w.AllowedLateness = c.period, c.idle, c.l
			var cfg Config
			cfg.ApplyDefaults(w)
			if cfg.Grace != c.grace || cfg.Poll != c.poll || cfg.WatchFor != time.Hour || cfg.MaxWatched != 64 ||
				cfg.ReadConcurrency != 16 || cfg.StateName != "aggregator" {
				t.Errorf("defaults: %+v", cfg)
			}
			if err := cfg.Validate(w); err != nil {
				t.Errorf("the defaults are invalid: %v", err)
			}
		})
	}
}

func TestConfigValidateNamesTheField(t *testing.T) {
	w := pipeline.DefaultWindowConfig()
	for _, c := range []struct {
		mut  func(*Config)
		want string
	}{
		{func(c *Config) { c.Grace = w.Period + w.IdleTimeout + w.AllowedLateness }, "aggregator.grace"},
		{func(c *Config) { c.Poll = -time.Second }, "aggregator.poll"},
		{func(c *Config) { c.WatchFor = -1 }, "aggregator.watch_for"},
		{func(c *Config) { c.MaxWatched = -1 }, "aggregator.max_watched"},
		{func(c *Config) { c.ReadConcurrency = 1000 }, "aggregator.read_concurrency"},
		{func(c *Config) { c.PartitionsRefresh = -1 }, "aggregator.partitions_refresh"},
	} {
		var cfg Config
		cfg.ApplyDefaults(w)
		c.mut(&cfg)
		if err := cfg.Validate(w); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.want, err)
		}
	}
	var empty Config
	empty.ApplyDefaults(w)
	empty.StateName = ""
	if err := empty.Validate(w); err == nil || !strings.Contains(err.Error(), "aggregator.state_name") {
		t.Errorf("state_name: %v", err)
	}
}
