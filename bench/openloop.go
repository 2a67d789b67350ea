package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// sentHeader carries a record's actual send time (Unix ns, big-endian).
const sentHeader = "bench-sent"

// openLoopStats is what the live producer achieved.
type openLoopStats struct {
	Records int
	Seconds float64
	// MaxBehind is the furthest the producer fell behind its schedule. Latencies stay honest
	// either way (each record carries its intended send time), but a producer far behind means
	// the machine could not offer the target load.
	MaxBehind time.Duration
}

// produceOpenLoop sends ds.Records records at rate per second on a fixed schedule: record k is
// due at start + k/rate whatever happened to the ones before it (open loop: a slow consumer or
// broker does not slow the offered load), and its timestamp is that intended time, which is
// what makes the measured latencies free of coordinated omission.
func produceOpenLoop(ctx context.Context, addrs []string, topic string, ds dataset, rate float64, progress io.Writer) (openLoopStats, error) {
	// A short linger: batching, but little delay added on the producer's side.
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(topic),
		kgo.ProducerLinger(time.Millisecond), kgo.MaxBufferedRecords(200_000))
	if err != nil {
		return openLoopStats{}, err
	}
	defer cl.Close()
	// Connect before the schedule starts, so the first records do not carry the dial.
	if err := cl.Ping(ctx); err != nil {
		return openLoopStats{}, fmt.Errorf("producer: %w", err)
	}
	var (
		wg     sync.WaitGroup
		failed atomic.Int64
	)
	done := func(_ *kgo.Record, err error) {
		if err != nil {
			failed.Add(1)
		}
		wg.Done()
	}
	// The payloads are generated before the schedule starts and sent round-robin: generating
	// and encoding events at this rate took the producer a core of its own on a 2-core machine,
	// and then the load generator, not the worker, set the live capacity. The events' own
	// times do not matter here (the live runs window on broker time, which is the intended send
	// time), so a ring of distinct events with the data set's shape stands for the stream.
	ring, err := payloadRing(ds, min(ds.Records, payloadRingSize))
	if err != nil {
		return openLoopStats{}, err
	}
	start := time.Now()
	st := openLoopStats{Records: ds.Records}
	nextPrint := start.Add(5 * time.Second)
	for k := 0; k < ds.Records; {
		now := time.Now()
		due := min(int(now.Sub(start).Seconds()*rate)+1, ds.Records)
		if behind := now.Sub(start.Add(time.Duration(float64(k) / rate * float64(time.Second)))); behind > st.MaxBehind {
			st.MaxBehind = behind
		}
		// The actual send time rides in a header, so the report can show the latency without
		// the correction too: the difference is the load the machine could not offer. One
		// stamp per tick: the records of a tick go out within microseconds of it.
		sent := binary.BigEndian.AppendUint64(nil, uint64(now.UnixNano()))
		for ; k < due; k++ {
			intended := start.Add(time.Duration(float64(k) / rate * float64(time.Second)))
			p := &ring[k%len(ring)]
			wg.Add(1)
			cl.Produce(ctx, &kgo.Record{Key: p.key, Value: p.value, Timestamp: intended,
				Headers: []kgo.RecordHeader{{Key: sentHeader, Value: sent}}}, done)
		}
		if now.After(nextPrint) {
			nextPrint = nextPrint.Add(5 * time.Second)
			fmt.Fprintf(progress, "bench: producer %6.1fs %d/%d records, behind schedule %v\n",
				now.Sub(start).Seconds(), k, ds.Records, st.MaxBehind.Round(time.Millisecond))
		}
		if err := sleep(ctx, time.Millisecond); err != nil {
			return st, err
		}
	}
	wg.Wait()
	st.Seconds = time.Since(start).Seconds()
	if n := failed.Load(); n > 0 {
		return st, fmt.Errorf("producer: %d records failed", n)
	}
	return st, nil
}

// payloadRingSize is how many distinct events an open-loop producer cycles through: enough for
// the Zipf tails of tenants and users to show up.
const payloadRingSize = 1 << 17

type payload struct{ key, value []byte }

// payloadRing generates n events of ds's shape, encoded.
func payloadRing(ds dataset, n int) ([]payload, error) {
	ds.Start, ds.Span = time.Now(), time.Minute
	g := newEventGen(ds)
	ring := make([]payload, n)
	for i := range ring {
		e := g.next()
		v, err := g.encode(&e, make([]byte, 0, 224))
		if err != nil {
			return nil, err
		}
		ring[i] = payload{key: e.UserKey(), value: v}
	}
	return ring, nil
}
