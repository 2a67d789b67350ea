package pipeline

import (
	"errors"
	"fmt"
	"time"
)

// TimeMode says which clock assigns records to windows.
type TimeMode string

// The window clocks.
const (
	// EventTime windows by a timestamp field of the payload or, when no field is configured, by
	// the record's broker append / arrival time. Windows close on the watermark.
	EventTime TimeMode = "event"
	// ProcessingTime windows by the worker's wall clock when the batch arrives. A replay
	// after a crash therefore counts the records it reads again in new windows: exactly once
	// holds by event time only (README.md, "Replays agree").
	ProcessingTime TimeMode = "processing"
)

// LatePolicy says what happens to a record whose window has already closed.
type LatePolicy string

// The late-record policies. Both count the record in weir_late_records_total.
const (
	// LateDeadLetter writes the record to the dead-letter sink (reason "late") and acknowledges it.
	LateDeadLetter LatePolicy = "deadletter"
	// LateOldestOpen folds the record into the partition's oldest open window instead, trading
	// time accuracy for completeness of counts.
	LateOldestOpen LatePolicy = "oldest-open"
)

// WindowConfig configures windowing. The yaml keys are those of the worker's `window:` section.
type WindowConfig struct {
	// Period is the tumbling window length. Default 60s, CloudWatch's standard resolution.
	Period time.Duration `yaml:"period"`
	// Time selects the clock: "event" (default) or "processing".
	Time TimeMode `yaml:"time"`
	// TimeField is the JSON path of the event-time field (RFC 3339 string, epoch seconds or
	// milliseconds as a number, or a msgpack timestamp). Empty: the record's broker/arrival
	// time. See decode.Value.Time.
	TimeField string `yaml:"time_field"`
	// AllowedLateness is how far behind its partition's newest event time a record may be and
	// still land in its window: each partition's watermark is the newest event time of its own
	// records − AllowedLateness, and a record whose window ends at or before it is late. Clock
	// skew between producers, and disorder, below this are absorbed; every window's output
	// waits this long after the window's end. Default 5s. (The rules: pipeline/eventtime.go.)
	AllowedLateness time.Duration `yaml:"allowed_lateness"`
	// Late is the policy for late records: "deadletter" (default: written to the dead-letter
	// sink with reason "late") or "oldest-open" (counted in the partition's oldest open window
	// instead, trading time accuracy for complete counts). Either way they are counted in
	// weir_late_records_total and in the summary report.
	Late LatePolicy `yaml:"late"`
	// MaxAhead is how far a record's event time (window.time_field) may be ahead of its broker
	// time (Kafka's timestamp, Kinesis' arrival time): a record stamped further ahead comes
	// from a clock that runs ahead (an event cannot reach the broker before it happened), and
	// takes its broker time + MaxAhead as its event time, so one skewed producer neither makes
	// every other producer on its partition late nor holds a window (and the commit point) open
	// until the clock reaches its stamp. It is counted in
	// weir_ahead_records_total{of="broker"}. The broker time is stored with the record, so this
	// keeps replays deterministic (rule 7). On a Kafka topic with CreateTime the broker time is
	// the producer's clock too, and this cannot tell; weir_ahead_records_total{of="clock"}
	// counts those. Default 1s (clock error between well-run hosts is milliseconds); set it at
	// or above AllowedLateness and a producer ahead by more than the lateness makes others late
	// again. No effect without a time_field.
	MaxAhead time.Duration `yaml:"max_ahead"`
	// IdleTimeout: a partition that is caught up and has taken no on-time record for this long
	// is quiet. A quiet partition's watermark advances with the wall clock from its newest
	// event (never faster, never ahead of the clock), so its open windows close once their end
	// + AllowedLateness has passed; a quiet partition with no open window holds back no window
	// of the others. It is never given another partition's event time. A partition starved by
	// backpressure is never quiet, and after the worker stalled (did not run for longer than
	// AllowedLateness: a frozen or throttled process) the timeout counts again from when it
	// resumed, so the records that reached the broker meanwhile are read first. The Kafka and
	// Kinesis sources confirm a caught-up partition as of a time, again and again, and the wall
	// clock takes it no further than that: a partition whose fetches hang (and whose windows
	// therefore wait) counts in weir_partitions_unconfirmed. Default 10s.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MaxPendingWindows bounds how many closed windows a partition may have waiting for their
	// partials to be durable; a partition that reaches it stops consuming (backpressure).
	// Default 4.
	MaxPendingWindows int `yaml:"max_pending_windows"`
}

// DefaultWindowConfig returns the defaults documented on WindowConfig.
func DefaultWindowConfig() WindowConfig {
	return WindowConfig{
		Period:            60 * time.Second,
		Time:              EventTime,
		AllowedLateness:   5 * time.Second,
		Late:              LateDeadLetter,
		MaxAhead:          time.Second,
		IdleTimeout:       10 * time.Second,
		MaxPendingWindows: 4,
	}
}

// Validate returns an error naming the first invalid field (as written in YAML, under window.).
func (c WindowConfig) Validate() error {
	var errs []error
	if c.Period < time.Second {
		errs = append(errs, fmt.Errorf("window.period: %v is below the 1s minimum", c.Period))
	} else if c.Period%time.Second != 0 {
		errs = append(errs, fmt.Errorf("window.period: %v is not a whole number of seconds", c.Period))
	}
	if c.Time != EventTime && c.Time != ProcessingTime {
		errs = append(errs, fmt.Errorf("window.time: %q is not one of event, processing", c.Time))
	}
	if c.Time == ProcessingTime && c.TimeField != "" {
		errs = append(errs, errors.New("window.time_field: set, but window.time is processing"))
	}
	if c.AllowedLateness < 0 {
		errs = append(errs, fmt.Errorf("window.allowed_lateness: %v is negative", c.AllowedLateness))
	}
	if c.MaxAhead < 0 {
		errs = append(errs, fmt.Errorf("window.max_ahead: %v is negative", c.MaxAhead))
	}
	if c.Late != LateDeadLetter && c.Late != LateOldestOpen {
		errs = append(errs, fmt.Errorf("window.late: %q is not one of deadletter, oldest-open", c.Late))
	}
	if c.IdleTimeout <= 0 {
		errs = append(errs, fmt.Errorf("window.idle_timeout: %v must be positive", c.IdleTimeout))
	}
	if c.MaxPendingWindows < 1 || c.MaxPendingWindows > 64 {
		errs = append(errs, fmt.Errorf("window.max_pending_windows: %d is not in [1, 64]", c.MaxPendingWindows))
	}
	return errors.Join(errs...)
}
