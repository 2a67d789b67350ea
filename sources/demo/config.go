// Package demo is weir's embedded default: an in-process Kafka broker (franz-go's kfake, on a
// random loopback port) and a generator of realistic access-log traffic, so `make run` shows the
// whole pipeline working with no Kafka cluster and no AWS account.
package demo

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Config configures the embedded broker and the traffic generator (the worker's `demo:` section).
type Config struct {
	// Topic and Partitions of the embedded broker. Defaults "events" and 8.
	Topic      string `yaml:"topic"`
	Partitions int    `yaml:"partitions"`
	// Rate is the mean events per second over a (compressed) day. Default 2000.
	Rate float64 `yaml:"rate"`
	// Duration stops the generator after this long (wall time); 0 runs until the worker stops.
	Duration time.Duration `yaml:"duration"`
	// Speed is how much faster than the wall clock the traffic's event time runs: 1 (default)
	// is real time; 6 plays a 1-minute day in 10 seconds, at Speed × Rate events per second of
	// wall time. Tests use it to watch a whole scripted day quickly.
	Speed float64 `yaml:"speed"`
	// DayLength compresses a day's traffic shape (night trough, daytime peak) into this much
	// event time (wall time at Speed 1), so daily seasonality is visible within minutes.
	// Default 10m. The scripted anomalies are placed in fractions of it (shape.go).
	DayLength time.Duration `yaml:"day_length"`
	// Tenants and Users are the Zipf-distributed populations. Defaults 200 and 20000.
	Tenants int `yaml:"tenants"`
	Users   int `yaml:"users"`
	// Format of the payloads: "json" (default) or "msgpack".
	Format string `yaml:"format"`
	// Seed makes the traffic reproducible. Default 1.
	Seed uint64 `yaml:"seed"`
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{Topic: "events", Partitions: 8, Rate: 2000, Speed: 1, DayLength: 10 * time.Minute,
		Tenants: 200, Users: 20000, Format: "json", Seed: 1}
}

// Validate names the invalid field.
func (c Config) Validate() error {
	var errs []error
	if c.Topic == "" {
		errs = append(errs, errors.New("demo.topic: must not be empty"))
	}
	if c.Partitions < 1 || c.Partitions > 1024 {
		errs = append(errs, fmt.Errorf("demo.partitions: %d is not in [1, 1024]", c.Partitions))
	}
	if c.Rate <= 0 || c.Rate > 5e6 {
		errs = append(errs, fmt.Errorf("demo.rate: %v is not in (0, 5e6]", c.Rate))
	}
	if math.IsNaN(c.Speed) || c.Speed < 1 || c.Speed > 100 {
		errs = append(errs, fmt.Errorf("demo.speed: %v is not in [1, 100]", c.Speed))
	}
	if c.Rate*c.Speed > 5e6 {
		errs = append(errs, fmt.Errorf("demo.rate × demo.speed: %v events per second is above 5e6", c.Rate*c.Speed))
	}
	if c.Duration < 0 {
		errs = append(errs, fmt.Errorf("demo.duration: %v is negative", c.Duration))
	}
	if c.DayLength < time.Minute {
		errs = append(errs, fmt.Errorf("demo.day_length: %v is below 1m", c.DayLength))
	}
	if c.Tenants < 10 {
		errs = append(errs, fmt.Errorf("demo.tenants: %d is below 10", c.Tenants))
	}
	if c.Users < c.Tenants {
		errs = append(errs, fmt.Errorf("demo.users: %d is below demo.tenants", c.Users))
	}
	if c.Format != "json" && c.Format != "msgpack" {
		errs = append(errs, fmt.Errorf("demo.format: %q is not one of json, msgpack", c.Format))
	}
	return errors.Join(errs...)
}
