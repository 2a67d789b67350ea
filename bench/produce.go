package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Partitions of every benchmark topic.
const partitions = 8

// createTopic creates a fresh topic on the broker.
func createTopic(ctx context.Context, addrs []string, topic string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		return err
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, 1, nil, topic)
	if err != nil {
		return fmt.Errorf("creating topic %s: %w", topic, err)
	}
	if resp.Err != nil {
		return fmt.Errorf("creating topic %s: %w", topic, resp.Err)
	}
	return nil
}

// deleteTopic drops a topic the run no longer needs, so the broker's memory (kfake keeps every
// record in memory) does not grow with every keys level.
func deleteTopic(ctx context.Context, addrs []string, topic string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		return err
	}
	defer cl.Close()
	_, err = kadm.NewClient(cl).DeleteTopics(ctx, topic)
	return err
}

// backlogBatchBytes is the size at which the backlog producer closes a batch (uncompressed).
// Batches average ~55 KB (~330 JSON or ~380 msgpack events, snappy-compressed to ~42 and
// ~46 bytes an event): partitions that fill more slowly are sent before they are full.
const backlogBatchBytes = 128 << 10

// newProducer is a producer for bulk loading: a deep buffer, and batches closed by size, not
// by time. With a 5 ms linger a batch held what the generator made in 5 ms, and msgpack events
// encode more slowly: the msgpack topic had about half the records per batch of the JSON one
// (141 against 263), so its consumers paid twice the per-batch costs, a difference of the
// harness rather than of the formats. The linger is long enough for any batch to fill.
func newProducer(addrs []string, topic string) (*kgo.Client, error) {
	return kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(topic),
		kgo.ProducerBatchMaxBytes(backlogBatchBytes), kgo.ProducerLinger(100*time.Millisecond),
		kgo.MaxBufferedRecords(200_000))
}

// produceBacklog writes every record of ds into topic before a scenario reads it, and returns
// the payload bytes written. progress receives a line now and then.
func produceBacklog(ctx context.Context, addrs []string, topic string, ds dataset, progress io.Writer) (int64, error) {
	cl, err := newProducer(addrs, topic)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	g := newEventGen(ds)
	var (
		acks  produceAcks
		bytes int64
	)
	start := time.Now()
	last := start
	for i := range ds.Records {
		e := g.next()
		v, err := g.encode(&e, make([]byte, 0, 224))
		if err != nil {
			return 0, err
		}
		bytes += int64(len(v))
		acks.produce(ctx, cl, &kgo.Record{Key: e.UserKey(), Value: v})
		if time.Since(last) >= 2*time.Second {
			last = time.Now()
			fmt.Fprintf(progress, "bench: producing %s: %d/%d records\n", topic, i+1, ds.Records)
		}
	}
	if err := acks.wait(topic); err != nil {
		return 0, err
	}
	fmt.Fprintf(progress, "bench: produced %d %s records (%.1f MB) into %s in %v\n", ds.Records, ds.Format,
		float64(bytes)/1e6, topic, time.Since(start).Round(time.Millisecond))
	return bytes, nil
}

// produceAcks waits for the acknowledgements of records produced asynchronously and keeps the
// first failure.
type produceAcks struct {
	wg      sync.WaitGroup
	failed  atomic.Int64
	firstMu sync.Mutex
	first   error
}

// produce sends r, counting it until the broker acknowledges it.
func (a *produceAcks) produce(ctx context.Context, cl *kgo.Client, r *kgo.Record) {
	a.wg.Add(1)
	cl.Produce(ctx, r, a.done)
}

func (a *produceAcks) done(_ *kgo.Record, err error) {
	if err != nil && a.failed.Add(1) == 1 {
		a.firstMu.Lock()
		a.first = err
		a.firstMu.Unlock()
	}
	a.wg.Done()
}

// wait returns once every record is acknowledged, with an error if any failed.
func (a *produceAcks) wait(topic string) error {
	a.wg.Wait()
	if n := a.failed.Load(); n > 0 {
		return fmt.Errorf("producing %s: %d records failed, first: %w", topic, n, a.first)
	}
	return nil
}
