package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Generator produces the demo traffic into a broker.
type Generator struct {
	cfg      Config
	cl       *kgo.Client
	shape    shape
	tenants  Zipf
	users    Zipf
	rng      *rand.Rand
	produced atomic.Int64
	m        *metrics
	log      *slog.Logger
	logged   atomic.Bool // the first refused record was logged
}

// NewGenerator connects a producer to addrs; its metrics go to reg.
func NewGenerator(cfg Config, addrs []string, reg prometheus.Registerer, log *slog.Logger) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(cfg.Topic),
		kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(100_000))
	if err != nil {
		return nil, fmt.Errorf("demo: producer: %w", err)
	}
	return &Generator{
		cfg: cfg, cl: cl, shape: shape{day: cfg.DayLength},
		tenants: NewZipf(cfg.Tenants, 1.1), users: NewZipf(cfg.Users, 1.05),
		rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		m:   newMetrics(reg), log: log.With("component", "demo-generator"),
	}, nil
}

// Produced returns how many events the broker has acknowledged.
func (g *Generator) Produced() int64 { return g.produced.Load() }

// Run produces events until ctx ends or Duration passes, pacing them every 10ms to the scripted
// rate (so the rate curve, spikes and bursts have event times that match their wall time, or
// Speed times their wall time; see pace for a tick that comes late). Each record carries its
// event time as its Kafka timestamp, so windows on broker time and on $.ts agree.
func (g *Generator) Run(ctx context.Context) error {
	defer g.cl.Close()
	start := time.Now()
	p := newPace(g.cfg, g.shape, start)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var buf []byte
	var err error
	emit := func(since time.Duration) {
		if err != nil {
			return
		}
		e := g.next(start.Add(since), since)
		if g.cfg.Format == "msgpack" {
			buf, err = e.Msgpack()
		} else {
			buf = e.AppendJSON(make([]byte, 0, 200))
		}
		if err == nil {
			g.cl.Produce(ctx, &kgo.Record{Key: e.UserKey(), Value: buf, Timestamp: e.TS}, g.done)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return g.flush()
		case now := <-tick.C:
			if g.cfg.Duration > 0 && now.Sub(start) >= g.cfg.Duration {
				return g.flush()
			}
			if p.due(now, emit); err != nil {
				return err
			}
		}
	}
}

// done is the producer's callback for each record (on the client's goroutines).
func (g *Generator) done(_ *kgo.Record, err error) {
	switch {
	case err == nil:
		g.produced.Add(1)
		g.m.produced.Inc()
	case errors.Is(err, context.Canceled) || errors.Is(err, kgo.ErrClientClosed):
		// Run's context ended, or the client closed with the record still buffered.
		g.m.failed.WithLabelValues(failStopping).Inc()
	default:
		g.m.failed.WithLabelValues(failBroker).Inc()
		if !g.logged.Swap(true) {
			g.log.Warn("the embedded broker did not take a demo event; every one it refuses is counted in "+
				"weir_demo_produce_failures_total (logged once)", "err", err)
		}
	}
}

// flush waits (up to 5s) for what is buffered; what is still unacknowledged then is cut off
// by the client's close, counted as stopping.
func (g *Generator) flush() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return g.cl.Flush(ctx)
}

// next draws one event at event time now, since the start.
func (g *Generator) next(now time.Time, since time.Duration) Event {
	r := g.rng
	e := Event{
		TS:     now.Add(-time.Duration(r.IntN(200)) * time.Millisecond), // clients log slightly behind
		Tenant: g.tenants.Draw(r) + 1,
		User:   g.users.Draw(r) + 1,
	}
	e.Fill(r, g.shape.errorRate(since, e.Tenant))
	return e
}
