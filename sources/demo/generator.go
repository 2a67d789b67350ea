package demo

import (
	"context"
	"fmt"
	"math"
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
// Speed times their wall time). What is owed is the rate integrated over the time since the
// last tick, not a fixed tick's worth: a ticker drops ticks when the producer falls behind (a
// busy machine), and counting ticks turned every stall into a dip of traffic the detector then
// rightly flagged. Each record carries its event time as its Kafka timestamp, so windows on
// broker time and on $.ts agree.
func (g *Generator) Run(ctx context.Context) error {
	defer g.cl.Close()
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var owed float64
	var buf []byte
	last := start
	for {
		select {
		case <-ctx.Done():
			return g.flush()
		case now := <-tick.C:
			wall := now.Sub(start)
			if g.cfg.Duration > 0 && wall >= g.cfg.Duration {
				return g.flush()
			}
			// A stall longer than maxCatchUp is not made up: a burst that large would be a
			// spike of its own.
			dt := min(now.Sub(last), maxCatchUp)
			last = now
			since := time.Duration(float64(wall) * g.cfg.Speed)
			at := start.Add(since)
			owed += g.cfg.Rate * g.cfg.Speed * g.shape.rateFactor(since) * dt.Seconds()
			n := int(math.Floor(owed))
			owed -= float64(n)
			for range n {
				e := g.next(at, since)
				var err error
				if g.cfg.Format == "msgpack" {
					buf, err = e.Msgpack()
				} else {
					buf = e.AppendJSON(make([]byte, 0, 200))
				}
				if err != nil {
					return err
				}
				g.cl.Produce(ctx, &kgo.Record{Key: e.UserKey(), Value: buf, Timestamp: e.TS}, g.done)
			}
		}
	}
}

// maxCatchUp bounds the traffic owed after a stall of the generator.
const maxCatchUp = time.Second

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
