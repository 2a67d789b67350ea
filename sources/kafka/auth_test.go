package kafka_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/pipeline/pipelinetest"
	"github.com/weirstream/weir/pipeline/throughput"
	"github.com/weirstream/weir/sources/kafka"
)

// The SASL options authenticate against a broker that requires them (kfake with SASL on), and a
// wrong password is refused rather than silently consuming nothing.
func TestSASLMechanismsAgainstARealBroker(t *testing.T) {
	for _, mech := range []struct{ kafka, kfake string }{
		{"plain", "PLAIN"}, {"scram-sha-256", "SCRAM-SHA-256"}, {"scram-sha-512", "SCRAM-SHA-512"},
	} {
		t.Run(mech.kafka, func(t *testing.T) {
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, topic), kfake.EnableSASL(),
				kfake.Superuser(mech.kfake, "weir", "s3cret"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			prod, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.SASL(mechanism(mech.kafka)))
			if err != nil {
				t.Fatal(err)
			}
			if err := prod.ProduceSync(context.Background(), &kgo.Record{Topic: topic, Value: []byte(`{}`)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
			prod.Close()

			for _, pass := range []string{"s3cret", "wrong"} {
				reg := prometheus.NewRegistry()
				pm := pipeline.NewMetrics(reg)
				log := slog.New(slog.NewTextHandler(io.Discard, nil))
				budget := pipeline.NewBudget(1 << 20)
				cfg := kafka.DefaultConfig()
				cfg.Brokers, cfg.Topics, cfg.Group = c.ListenAddrs(), []string{topic}, "sasl-"+pass
				cfg.SASL = kafka.SASLConfig{Mechanism: mech.kafka, Username: "weir", Password: pass}
				src, err := kafka.New(context.Background(), cfg, budget, reg, pm, log)
				if err != nil {
					t.Fatal(err)
				}
				rt, err := pipeline.New(pipeline.Options{Window: pipeline.DefaultWindowConfig(), Plan: decode.NewPlan(decode.JSON),
					Operators: []pipeline.Operator{throughput.New()}, Partials: pipelinetest.Discard{}, DeadLetters: pipelinetest.Discard{},
					Committer: src, Budget: budget, Metrics: pm, Logger: log})
				if err != nil {
					t.Fatal(err)
				}
				rt.Start()
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- src.Run(ctx, rt) }()
				deadline := time.Now().Add(3 * time.Second)
				for rt.Stats().Records == 0 && time.Now().Before(deadline) {
					if pass == "wrong" && connectErrors(t, reg) > 0 {
						break // refused, as it should be
					}
					time.Sleep(10 * time.Millisecond)
				}
				got := rt.Stats().Records
				cancel()
				<-done
				_ = rt.Close(context.Background())
				_ = src.Close(context.Background())
				if pass == "s3cret" && got != 1 {
					t.Errorf("authenticated consumer read %d records, want 1", got)
				}
				if pass == "wrong" && (got != 0 || connectErrors(t, reg) == 0) {
					t.Errorf("consumer with a wrong password read %d records and reported %v connection errors", got, connectErrors(t, reg))
				}
			}
		})
	}
}

// mechanism builds the producer's side independently of the source's auth code.
func mechanism(name string) sasl.Mechanism {
	switch name {
	case "plain":
		return plain.Auth{User: "weir", Pass: "s3cret"}.AsMechanism()
	case "scram-sha-256":
		return scram.Auth{User: "weir", Pass: "s3cret"}.AsSha256Mechanism()
	}
	return scram.Auth{User: "weir", Pass: "s3cret"}.AsSha512Mechanism()
}

func connectErrors(t *testing.T, reg *prometheus.Registry) float64 {
	return metrictest.Sum(t, reg, "weir_kafka_connect_errors_total", nil)
}
