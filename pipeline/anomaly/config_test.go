package anomaly

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// TestConfigValidate: every invalid field is named as in YAML, and NewAnalyzer refuses it.
func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		field string
		edit  func(*Config)
	}{
		{"anomaly.metrics[1]", func(c *Config) { c.Metrics = []string{"Records", "[bad"} }},
		{"anomaly.metrics[0]", func(c *Config) { c.Metrics = []string{""} }},
		{"anomaly.count_metrics[1]", func(c *Config) { c.CountMetrics = []string{"Records", "[bad"} }},
		{"anomaly.count_metrics[0]", func(c *Config) { c.CountMetrics = []string{""} }},
		{"anomaly.exclude_dimensions[0]", func(c *Config) { c.ExcludeDimensions = []string{""} }},
		{"anomaly.top_contributors", func(c *Config) { c.TopContributors = -1 }},
		{"anomaly.top_contributors", func(c *Config) { c.TopContributors = 1001 }},
		{"anomaly.max_series", func(c *Config) { c.MaxSeries = 0 }},
		{"anomaly.idle_timeout", func(c *Config) { c.IdleTimeout = 0 }},
		{"anomaly.snapshot_every", func(c *Config) { c.SnapshotEvery = 0 }},
		{"anomaly.snapshot_name", func(c *Config) { c.SnapshotName = "" }},
		{"anomaly.snapshot_timeout", func(c *Config) { c.SnapshotTimeout = -time.Second }},
		{"anomaly.warm_up", func(c *Config) { c.WarmUp = 0 }},
		{"anomaly.memory", func(c *Config) { c.Memory = 9 }},
		{"anomaly.alarm_score", func(c *Config) { c.AlarmScore = 1 }},
		{"anomaly.alarm_score", func(c *Config) { c.AlarmScore = 0 }},
		{"anomaly.quiet", func(c *Config) { c.Quiet = -1 }},
		{"anomaly.quiet", func(c *Config) { c.Quiet = maxQuiet + 1 }},
		{`anomaly.time_zone: "Europe/Berlinn" is not a zone`, func(c *Config) { c.TimeZone = "Europe/Berlinn" }},
		{"anomaly.time_zone: empty", func(c *Config) { c.TimeZone = "" }},
		{`anomaly.time_zone: "Local" is the machine's zone`, func(c *Config) { c.TimeZone = "Local" }},
	} {
		c := DefaultConfig()
		tc.edit(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("want an error naming %s, got %v", tc.field, err)
		}
		if _, err := NewAnalyzer(c, nil, prometheusRegistry(), nil); err == nil {
			t.Errorf("NewAnalyzer accepted a config with a bad %s", tc.field)
		}
	}
}

// TestConfigYAML: the worker's anomaly: section, detector settings inline, over the
// defaults (as cmd/worker decodes it: known fields only).
func TestConfigYAML(t *testing.T) {
	const doc = `
alarm_score: 0.5
quiet: 60
metrics: [Records, "*Lag*"]
count_metrics: [SampleCount]
top_contributors: 3
max_series: 200
idle_timeout: 2h
snapshot_every: 5
time_zone: America/New_York
`
	c := DefaultConfig()
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.AlarmScore, want.Quiet = 0.5, 60
	want.Metrics = []string{"Records", "*Lag*"}
	want.CountMetrics = []string{"SampleCount"}
	want.TopContributors, want.MaxSeries, want.IdleTimeout, want.SnapshotEvery = 3, 200, 2*time.Hour, 5
	want.TimeZone = "America/New_York"
	if !reflect.DeepEqual(c, want) {
		t.Errorf("decoded %+v\nwant    %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}

func TestNewPanicsOnInvalidConfig(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New accepted an invalid config")
		}
	}()
	New(Config{})
}
