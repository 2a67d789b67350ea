package demo_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/weirstream/weir/sources/demo"
)

type event struct {
	TS        time.Time `json:"ts" msgpack:"-"`
	TSText    string    `json:"-" msgpack:"ts"`
	Tenant    string    `json:"tenant" msgpack:"tenant"`
	User      string    `json:"user" msgpack:"user"`
	Path      string    `json:"path" msgpack:"path"`
	Method    string    `json:"method" msgpack:"method"`
	Status    int       `json:"status" msgpack:"status"`
	Bytes     int       `json:"bytes" msgpack:"bytes"`
	LatencyMS float64   `json:"latency_ms" msgpack:"latency_ms"`
}

// The generator fills the embedded broker with decodable access-log events whose tenants are
// Zipf-skewed and whose timestamps are the wall time they were produced at.
func TestGeneratorProducesSkewedAccessLogs(t *testing.T) {
	for _, format := range []string{"json", "msgpack"} {
		cfg := demo.DefaultConfig()
		cfg.Partitions, cfg.Rate, cfg.Duration, cfg.Format = 4, 5000, 700*time.Millisecond, format
		b, err := demo.StartBroker(cfg)
		if err != nil {
			t.Fatal(err)
		}
		g, err := demo.NewGenerator(cfg, b.Addrs(), prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := g.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		produced := g.Produced()
		// 0.7 s at 5000/s times the day shape's factor at the start (1.0 at mid-morning).
		if produced < 1500 || produced > 6000 {
			t.Errorf("%s: produced %d events in 0.7s at 5000/s", format, produced)
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.ConsumeTopics(cfg.Topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			t.Fatal(err)
		}
		tenants := map[string]int{}
		var n int64
		for n < produced {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			fs := cl.PollFetches(ctx)
			timedOut := ctx.Err() != nil
			cancel()
			if timedOut {
				t.Fatalf("%s: consumed %d of %d", format, n, produced)
			}
			fs.EachRecord(func(r *kgo.Record) {
				n++
				var e event
				if format == "json" {
					if err := json.Unmarshal(r.Value, &e); err != nil {
						t.Fatalf("%s: %v", r.Value, err)
					}
				} else {
					if err := msgpack.Unmarshal(r.Value, &e); err != nil {
						t.Fatal(err)
					}
					e.TS, _ = time.Parse(time.RFC3339Nano, e.TSText)
				}
				if e.Tenant == "" || e.User == "" || e.Status < 200 || e.Bytes <= 0 || e.Method == "" {
					t.Fatalf("incomplete event %+v", e)
				}
				if e.TS.Before(start.Add(-time.Second)) || e.TS.After(time.Now()) {
					t.Fatalf("event time %v is not the production time", e.TS)
				}
				tenants[e.Tenant]++
			})
		}
		cl.Close()
		b.Close()
		// Zipf(1.1) over 200 tenants: the top tenant carries ~17% of traffic, far above 1/200.
		if share := float64(tenants["t-0001"]) / float64(n); share < 0.08 {
			t.Errorf("%s: top tenant share %.3f; traffic is not skewed", format, share)
		}
	}
}

// At Speed 4 the traffic's event time runs four times faster than the wall clock, and every
// record's Kafka timestamp is its event time. (The bounds are loose: under the race detector on
// a busy machine the generator's ticks come late, and it produces less, over less event time.)
func TestGeneratorSpeed(t *testing.T) {
	cfg := demo.DefaultConfig()
	cfg.Partitions, cfg.Rate, cfg.Speed, cfg.Duration = 2, 500, 4, 500*time.Millisecond
	b, err := demo.StartBroker(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	g, err := demo.NewGenerator(cfg, b.Addrs(), prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	produced := g.Produced()
	// At most 0.5 s × 500/s × 4 = 1000, times the day's factor at the start (about 1).
	if produced < 1 || produced > 1500 {
		t.Errorf("produced %d events in 0.5 s at 500/s × 4", produced)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.ConsumeTopics(cfg.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var first, last time.Time
	for n := int64(0); n < produced; {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		fs := cl.PollFetches(ctx)
		timedOut := ctx.Err() != nil
		cancel()
		if timedOut {
			t.Fatalf("consumed %d of %d", n, produced)
		}
		fs.EachRecord(func(r *kgo.Record) {
			n++
			var e event
			if err := json.Unmarshal(r.Value, &e); err != nil {
				t.Fatal(err)
			}
			if !r.Timestamp.Equal(e.TS) {
				t.Fatalf("record timestamp %v, event time %v", r.Timestamp, e.TS)
			}
			if first.IsZero() || e.TS.Before(first) {
				first = e.TS
			}
			if e.TS.After(last) {
				last = e.TS
			}
		})
	}
	// Event time runs ahead of the wall clock: more than the 0.5 s the generator ran, never more
	// than four times it (plus the up to 200 ms a client logs behind).
	if span := last.Sub(first); span <= 750*time.Millisecond || span > 2200*time.Millisecond {
		t.Errorf("event times span %v over 0.5 s of wall time at speed 4, want over 0.75 s and at most 2.2 s", span)
	}
}

func TestConfigNamesTheField(t *testing.T) {
	cfg := demo.DefaultConfig()
	cfg.Rate, cfg.Format, cfg.Speed = 0, "xml", 0.5
	err := cfg.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"demo.rate", "demo.format", "demo.speed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}
