package worker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/lag"
	"github.com/weirstream/weir/pipeline"
)

// health decides what /healthz and /readyz answer (see HealthConfig).
//
// Live: the worker is making progress, or has nothing to make progress on. It fails only when
// there is lag and neither a record was processed nor a window made durable for StallTimeout:
// then the process is stuck in a way a restart may cure, and the container health check lets
// ECS replace it. Unreachable brokers alone do not fail it (a restart cannot fix them) unless
// they leave lag unprocessed that long.
//
// Ready: the worker is doing its work now. The source is connected and a member (Kafka) or
// has read its stream and lease table (Kinesis), with no authorization refusal; no sink has
// failed every write for SinkTimeout; it is live; and it is not starting or draining.
type health struct {
	cfg     HealthConfig
	src     Source
	rt      *pipeline.Runtime
	tracker *lag.Tracker

	started  atomic.Bool // Run has started every part
	draining atomic.Bool // the shutdown began

	mu       sync.Mutex
	progress int64     // records processed + partials made durable, as last seen
	movedAt  time.Time // when progress last changed (or the start)
}

func newHealth(cfg HealthConfig, src Source, rt *pipeline.Runtime, tracker *lag.Tracker, now time.Time) *health {
	return &health{cfg: cfg, src: src, rt: rt, tracker: tracker, movedAt: now}
}

// observe notes progress at now and returns how long it has not moved.
func (h *health) observe(now time.Time) time.Duration {
	st := h.rt.Stats()
	p := st.Records + st.Partials
	h.mu.Lock()
	defer h.mu.Unlock()
	if p != h.progress || now.Before(h.movedAt) {
		h.progress, h.movedAt = p, now
	}
	return now.Sub(h.movedAt)
}

// run observes every second until ctx ends, so that a stall is timed from when progress
// stopped, whenever the checks come.
func (h *health) run(ctx context.Context) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			h.observe(now)
		}
	}
}

// live returns nil, or why the worker is stuck.
func (h *health) live(now time.Time) error {
	stalled := h.observe(now)
	if h.draining.Load() || stalled < h.cfg.StallTimeout {
		return nil
	}
	if behind := h.behind(now); behind != "" {
		return fmt.Errorf("stalled: no record processed and no window made durable for %v, with %s",
			stalled.Round(time.Second), behind)
	}
	return nil
}

// behind describes the lag of the partitions this worker owns, "" when there is none.
func (h *health) behind(now time.Time) string {
	total := h.tracker.Snapshot(now).Total
	switch {
	case total.RecordsSum > 0:
		return fmt.Sprintf("%d records not yet committed on %d partitions", total.RecordsSum, total.Partitions)
	case total.SecondsMax > 0 && !math.IsNaN(total.SecondsMax):
		return fmt.Sprintf("%.0fs behind the stream", total.SecondsMax)
	}
	return ""
}

// ready returns nil, or every reason the worker is not doing its work now.
func (h *health) ready(now time.Time) error {
	switch {
	case h.draining.Load():
		return errors.New("draining: shutting down")
	case !h.started.Load():
		return errors.New("starting")
	}
	var errs []error
	if h.src != nil {
		errs = append(errs, h.src.Ready(now, h.cfg.SourceTimeout))
	}
	for _, f := range h.rt.FailingSinks() {
		if d := now.Sub(f.Since); d >= h.cfg.SinkTimeout {
			errs = append(errs, fmt.Errorf("sink %s: every write has failed for %v: %w", f.Sink, d.Round(time.Second), f.Err))
		}
	}
	errs = append(errs, h.live(now))
	return errors.Join(errs...)
}

// collector exports the two answers and the time since progress, computed at scrape.
func (h *health) collector() prometheus.Collector {
	return &healthCollector{h: h,
		live: prometheus.NewDesc("weir_health_live", "1 while /healthz answers 200 (not stalled with lag; see health.stall_timeout).", nil, nil),
		ready: prometheus.NewDesc("weir_health_ready",
			"1 while /readyz answers 200 (source connected and a member, sinks writing, live, not starting or draining).", nil, nil),
		stalled: prometheus.NewDesc("weir_health_stalled_seconds",
			"Seconds since a record was last processed or a window made durable.", nil, nil),
	}
}

type healthCollector struct {
	h                    *health
	live, ready, stalled *prometheus.Desc
}

func (c *healthCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.live
	ch <- c.ready
	ch <- c.stalled
}

func (c *healthCollector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	ch <- prometheus.MustNewConstMetric(c.live, prometheus.GaugeValue, boolValue(c.h.live(now) == nil))
	ch <- prometheus.MustNewConstMetric(c.ready, prometheus.GaugeValue, boolValue(c.h.ready(now) == nil))
	ch <- prometheus.MustNewConstMetric(c.stalled, prometheus.GaugeValue, c.h.observe(now).Seconds())
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
