package worker

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// server serves /metrics, /healthz (the process is alive) and /readyz (started and not
// draining), for Prometheus and for the ECS container health check.
type server struct {
	srv   *http.Server
	ln    net.Listener
	ready atomic.Bool
}

func newServer(addr string, reg *prometheus.Registry, extra map[string]http.Handler) (*server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &server{ln: ln}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	for path, h := range extra {
		mux.Handle(path, h)
	}
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return s, nil
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
