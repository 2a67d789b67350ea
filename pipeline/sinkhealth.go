package pipeline

import (
	"sync"
	"time"
)

// SinkFailure is a writer whose writes have all failed since Since: the partial (or dead
// letters) it is retrying has not been written, so nothing behind it is acknowledged.
type SinkFailure struct {
	// Sink is "partials" for the partial store, or "deadletter" for the dead-letter writer.
	Sink  string
	Since time.Time
	// Err is the last write's error.
	Err error
}

// sinkHealth follows one writer's run of failed writes: Since is the first failure after the
// last success, zero while writes succeed. The writer updates it once per attempt (never on
// the record path); health checks read it.
type sinkHealth struct {
	name  string
	mu    sync.Mutex
	since time.Time
	err   error
}

func (h *sinkHealth) failed(err error) {
	h.mu.Lock()
	if h.since.IsZero() {
		h.since = time.Now()
	}
	h.err = err
	h.mu.Unlock()
}

func (h *sinkHealth) succeeded() {
	h.mu.Lock()
	h.since, h.err = time.Time{}, nil
	h.mu.Unlock()
}

// newSinkHealth makes the trackers of the partial writes (every partition's: a store that fails
// fails them all) and of the dead-letter writer, in that order.
func newSinkHealth() []*sinkHealth {
	return []*sinkHealth{{name: sinkPartials}, {name: "deadletter"}}
}

// FailingSinks returns the sinks whose writes have failed without a success since, oldest
// failure first: what readiness checks report. Safe for concurrent use.
func (rt *Runtime) FailingSinks() []SinkFailure {
	var out []SinkFailure
	for _, h := range rt.sinkHealth {
		h.mu.Lock()
		if !h.since.IsZero() {
			out = append(out, SinkFailure{Sink: h.name, Since: h.since, Err: h.err})
		}
		h.mu.Unlock()
	}
	for i := 1; i < len(out); i++ { // a handful at most
		for j := i; j > 0 && out[j].Since.Before(out[j-1].Since); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
