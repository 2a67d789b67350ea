package scaling

import (
	"encoding/json"
	"net/http"
	"sync/atomic"
)

// Latest holds the most recent Signal and serves it as JSON. It is safe for concurrent use:
// the publisher sets, HTTP handlers read, and neither blocks the other.
type Latest struct {
	p atomic.Pointer[Signal]
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

// ServeHTTP answers GET (and HEAD) /v1/scaling with the latest Signal. Before the first
// evaluation it answers 503 with a JSON error rather than a zero Signal, so that a zero
// DesiredTasks is never mistaken for a decision.
func (l *Latest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
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
