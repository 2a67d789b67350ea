package scaling

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestDefaultConfigIsValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigValidateNamesTheField(t *testing.T) {
	tests := []struct {
		field string
		set   func(*Config)
	}{
		{"scaling.period", func(c *Config) { c.Period = 0 }},
		{"scaling.target_utilization", func(c *Config) { c.TargetUtilization = 0 }},
		{"scaling.target_utilization", func(c *Config) { c.TargetUtilization = 1.2 }},
		{"scaling.catch_up_window", func(c *Config) { c.CatchUpWindow = 0 }},
		{"scaling.tolerance", func(c *Config) { c.Tolerance = 1 }},
		{"scaling.tolerance", func(c *Config) { c.Tolerance = -0.1 }},
		{"scaling.scale_down_max_backlog", func(c *Config) { c.ScaleDownMaxBacklog = -time.Second }},
		{"scaling.min_tasks", func(c *Config) { c.MinTasks = 0 }},
		{"scaling.max_tasks", func(c *Config) { c.MinTasks, c.MaxTasks = 4, 2 }},
		{"scaling.min_busy_fraction", func(c *Config) { c.MinBusyFraction = 0 }},
	}
	for _, tt := range tests {
		c := DefaultConfig()
		tt.set(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%s: Validate() = %v, want an error naming the field", tt.field, err)
		}
	}
}

func TestConfigYAMLKeys(t *testing.T) {
	c := DefaultConfig()
	src := "target_utilization: 0.6\ncatch_up_window: 15m\nmin_tasks: 2\nmax_tasks: 16\n"
	if err := yaml.Unmarshal([]byte(src), &c); err != nil {
		t.Fatal(err)
	}
	if c.TargetUtilization != 0.6 || c.CatchUpWindow != 15*time.Minute || c.MinTasks != 2 || c.MaxTasks != 16 {
		t.Fatalf("yaml keys not applied: %+v", c)
	}
	if c.Tolerance != DefaultConfig().Tolerance {
		t.Fatalf("unset key lost its default: %+v", c)
	}
}
