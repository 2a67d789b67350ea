package worker

import (
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/pipeline"
)

// Deps is what Build takes besides the Config: the process-wide things a library must not
// make for itself.
type Deps struct {
	// Logger is the worker's log. Required.
	Logger *slog.Logger
	// Registry receives every metric of the worker and is what /metrics serves. Required; the
	// caller registers the Go and process collectors if it wants them.
	Registry *prometheus.Registry
	// Memory is what ApplyMemoryLimit found: the memory the process may use (its Bytes size
	// the in-flight budget unless Config.BudgetBytes is set; 0 when unknown) and the Go
	// runtime's soft limit, logged at start.
	Memory MemoryLimit
	// Status receives the live summary line (Config.Summary: with "auto", only when Status is
	// a terminal). nil prints none.
	Status io.Writer
	// Hooks are for harnesses that look inside without changing what is built.
	Hooks Hooks
}

// Hooks let a harness (the bench, tests) add to the worker Build assembles.
type Hooks struct {
	// Operators run after the configured ones (the bench's latency probe).
	Operators []pipeline.Operator
	// WrapPartials, if set, wraps the store the runtime writes every partition's partials to
	// (not the dead-letter writer, the aggregator's reads or its report and metric sinks): a
	// stalled or slowed store, a timer.
	WrapPartials func(pipeline.PartialWriter) pipeline.PartialWriter
	// Stopped, if set, is called as each part of the worker has stopped during the shutdown,
	// with its name (Part…), from Run's goroutine. It must not block.
	Stopped func(part string)
	// CPU, if set, replaces the process CPU clock of this worker's load reports, and VCPUs,
	// when positive, the vCPUs they state: several workers in one process share getrusage's
	// clock, and a test of the fleet's sizing wants a capacity it knows. CPU is called from the
	// load writer's goroutine, once per scaling period.
	CPU   func() (time.Duration, bool)
	VCPUs float64
}
