package main

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// kafkaSender produces to the trial's topic with franz-go, which batches on its own.
type kafkaSender struct{ cl *kgo.Client }

func newKafkaSender(ctx context.Context, brokers []string, topic string) (*kafkaSender, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(topic),
		kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(100_000),
		kgo.RecordDeliveryTimeout(time.Minute))
	if err != nil {
		return nil, err
	}
	if err := cl.Ping(ctx); err != nil {
		cl.Close()
		return nil, err
	}
	return &kafkaSender{cl: cl}, nil
}

func (s *kafkaSender) send(ctx context.Context, key, value []byte, done func(int32, error)) {
	s.cl.Produce(ctx, &kgo.Record{Key: key, Value: value}, func(r *kgo.Record, err error) { done(r.Partition, err) })
}

func (s *kafkaSender) tick(context.Context) {}

func (s *kafkaSender) flush(ctx context.Context) error { return s.cl.Flush(ctx) }

func (s *kafkaSender) close() { s.cl.Close() }
