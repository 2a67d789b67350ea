package worker

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// server serves /metrics, /healthz (liveness: the container health check) and /readyz
// (readiness), for Prometheus, ECS and load balancers. A failing check answers 503 with its
// reasons, one per line.
type server struct {
	srv *http.Server
	ln  net.Listener
}

func newServer(addr string, reg *prometheus.Registry, h *health, extra map[string]http.Handler) (*server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &server{ln: ln}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.Handle("/healthz", check(h.live, "ok\n"))
	mux.Handle("/readyz", check(h.ready, "ready\n"))
	for path, h := range extra {
		mux.Handle(path, h)
	}
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return s, nil
}

// check answers 200 with ok when f returns nil, else 503 with f's error.
func check(f func(time.Time) error, ok string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if err := f(time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(ok))
	}
}

func (s *server) addr() string { return s.ln.Addr().String() }

// run returns the server's part of the run group: it serves until shutdown. A server that
// fails is logged; the worker goes on without it.
func (s *server) run(log *slog.Logger) func(context.Context) error {
	return func(context.Context) error {
		if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "err", err)
		}
		return nil
	}
}

// shutdown stops serving within ctx, letting requests in progress finish.
func (s *server) shutdown(ctx context.Context) error {
	_ = s.srv.Shutdown(ctx)
	return nil
}
