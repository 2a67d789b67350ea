package scaling

import (
	"encoding/json"
	"net/http"
	"sync/atomic"

	"github.com/weirstream/weir/load"
)

// Latest holds the most recent Signal and serves it as JSON. It is safe for concurrent use:
// the publisher sets, HTTP handlers read, and neither blocks the other.
//
// Only the fleet's aggregator computes the fleet's signal: a process that is not the
// aggregator (the zero Latest, until SetAggregator(true)) answers that it is not, with its own
// latest load report (Local) for diagnosis, instead of a stale decision.
type Latest struct {
	p          atomic.Pointer[Signal]
	aggregator atomic.Bool
	// Local, when set, returns this worker's latest load report.
	Local func() (load.Report, bool)
}

// Set replaces the served signal.
func (l *Latest) Set(s Signal) { l.p.Store(&s) }

// Get returns the latest signal and whether one has been set.
func (l *Latest) Get() (Signal, bool) {
	if s := l.p.Load(); s != nil {
		return *s, true
	}
	return Signal{}, false
}

// SetAggregator says whether this process is the fleet's aggregator now. Leaving the role
// forgets the last signal: the next aggregator publishes its own.
func (l *Latest) SetAggregator(on bool) {
	l.aggregator.Store(on)
	if !on {
		l.p.Store(nil)
	}
}

// notAggregator is the body a worker that is not the aggregator answers with.
type notAggregator struct {
	Error      string       `json:"error"`
	Aggregator bool         `json:"aggregator"`
	Load       *load.Report `json:"load,omitempty"`
}

// ServeHTTP answers GET (and HEAD) /v1/scaling with the latest Signal. Before the first
// evaluation it answers 503 with a JSON error rather than a zero Signal, so that a zero
// DesiredTasks is never mistaken for a decision; a worker that is not the aggregator answers
// 404 with a JSON body saying so.
func (l *Latest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
		return
	}
	if !l.aggregator.Load() {
		body := notAggregator{Error: "not the aggregator: the fleet's scaling signal is computed and published by the " +
			"fleet's aggregator alone (read DesiredTasks in CloudWatch, or ask the aggregator)"}
		if l.Local != nil {
			if r, ok := l.Local(); ok {
				body.Load = &r
			}
		}
		writeJSON(w, http.StatusNotFound, body)
		return
	}
	s, ok := l.Get()
	if !ok {
		w.Header().Set("Retry-After", "60")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "no scaling signal computed yet"})
		return
	}
	writeJSON(w, http.StatusOK, s)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// The only failure left is a client that went away; there is nobody to tell.
	_ = json.NewEncoder(w).Encode(v)
}
