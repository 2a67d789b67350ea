package worker

import (
	"log/slog"

	"github.com/weirstream/weir/pipeline"
)

// warnConfig logs, at start (and under -check), the settings that are valid but give up a
// guarantee the operator may be counting on. They are warnings, not errors: each is a
// legitimate choice when made knowingly.
func warnConfig(cfg Config, log *slog.Logger) {
	// Processing time stamps a record with the wall clock of its reading, so the records a
	// crash or a rebalance makes another worker (or the restarted one) read again, those past
	// the last stored checkpoint, count in the windows of their second reading too: the
	// fleet's exactly-once reports rest on event time. The demo's embedded broker goes with
	// the process, so nothing is read again there.
	if cfg.Window.Time == pipeline.ProcessingTime && cfg.Source.Kind != "demo" {
		log.Warn("window.time: processing is not exactly once across a crash or a rebalance: records read again "+
			"after the last checkpoint also count in the windows of their second reading; use event time "+
			"(window.time: event, with no time_field the broker's append or Kinesis's arrival time) for exact counts. "+
			"See README.md, \"Event time: which window a record counts in\"",
			"field", "window.time", "value", string(cfg.Window.Time), "source", cfg.Source.Kind)
	}
	// A record may run max_ahead past its broker time before it is re-timed (rule 1): one that
	// far ahead still moves its partition's watermark that far, so unless max_ahead is below the
	// allowed lateness, a producer whose clock runs ahead by less than it makes the other
	// producers' records on its partition late. Only with a time_field: without one the event
	// time is the broker time.
	if w := cfg.Window; w.Time == pipeline.EventTime && w.TimeField != "" && w.MaxAhead >= w.AllowedLateness {
		log.Warn("window.max_ahead is not below window.allowed_lateness: a producer whose clock runs ahead by up to "+
			"max_ahead moves its partition's watermark that far, and the other producers' records on the partition "+
			"are late; set max_ahead below the lateness. See README.md, \"Event time: which window a record counts in\"",
			"field", "window.max_ahead", "value", w.MaxAhead.String(), "allowed_lateness", w.AllowedLateness.String())
	}
}
