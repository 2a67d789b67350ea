package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

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
	failed   atomic.Int64
}

// NewGenerator connects a producer to addrs.
func NewGenerator(cfg Config, addrs []string) (*Generator, error) {
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

func (g *Generator) done(_ *kgo.Record, err error) {
	if err != nil {
		g.failed.Add(1)
		return
	}
	g.produced.Add(1)
}

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
