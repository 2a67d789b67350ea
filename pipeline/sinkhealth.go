package pipeline

import (
	"sync"
	"time"
)

// SinkFailure is a sink whose writes have all failed since Since: the window (or dead
// letters) it is retrying has not been written, so nothing behind it is acknowledged.
type SinkFailure struct {
	// Sink is the sink's Name, or "deadletter" for the dead-letter writer.
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

// newSinkHealth makes one tracker per window sink, in the sinks' order, and the dead-letter
// writer's last.
func newSinkHealth(sinks []Sink) []*sinkHealth {
	hs := make([]*sinkHealth, 0, len(sinks)+1)
	for _, s := range sinks {
		hs = append(hs, &sinkHealth{name: s.Name()})
	}
	return append(hs, &sinkHealth{name: "deadletter"})
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
