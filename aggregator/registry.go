package aggregator

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// termRegisterer is the Registerer a term's analyzers register their metrics with. Analyzers
// are built anew for every term (they restore the state the previous aggregator saved), and a
// collector registered twice is an error: so whatever a term registered is unregistered when
// it ends, and the next term's analyzers register theirs afresh (their counters restart, which
// Prometheus' rate() takes as a reset).
type termRegisterer struct {
	reg prometheus.Registerer

	mu         sync.Mutex
	collectors []prometheus.Collector
}

func (r *termRegisterer) Register(c prometheus.Collector) error {
	if err := r.reg.Register(c); err != nil {
		return err
	}
	r.mu.Lock()
	r.collectors = append(r.collectors, c)
	r.mu.Unlock()
	return nil
}

func (r *termRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err) // MustRegister's contract, as prometheus.Registry's
		}
	}
}

func (r *termRegisterer) Unregister(c prometheus.Collector) bool {
	return r.reg.Unregister(c)
}

// unregisterAll removes every collector registered through r.
func (r *termRegisterer) unregisterAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.collectors {
		r.reg.Unregister(c)
	}
	r.collectors = nil
}
