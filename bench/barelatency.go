package main

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/sources/kafka"
)

// bareLatency is the latency scenario's baseline, measured in the same run: a bare franz-go
// consumer of one partition of the live topic, in the orchestrator process, timing records
// from their intended send time (as the worker's probe does) to the poll that returns them.
// That is the delay the producer, the broker, the client and this machine impose on any
// consumer. When weir's tail and the bare consumer's tail are made of the same seconds, the
// stall was upstream of weir (or the host froze); when only weir's is, it is weir's.
//
// One partition of eight, with every eighth record timed, gives as many samples as the
// worker's probe (one in 64 of all partitions) for an eighth of a consumer's load.
type bareLatency struct {
	every int64
	hist  *hdrhistogram.Histogram // microseconds
	worst worstSeries
}

// bareLatencyPartition is the partition the baseline reads.
const bareLatencyPartition = 0

// measureBareLatency consumes the topic's bareLatencyPartition from the start until ctx ends,
// or, once producerDone is closed, until it has read up to the partition's end (or given up
// after bareLatencyGrace). It runs beside the worker; errors end it early with what it has.
func measureBareLatency(ctx context.Context, addrs []string, topic string, every int64, producerDone <-chan struct{}) (*bareLatency, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {bareLatencyPartition: kgo.NewOffset().AtStart()}}),
		kgo.FetchMaxWait(kafka.DefaultConfig().FetchMaxWait))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	b := &bareLatency{every: max(every, 1), hist: hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3)}
	// end is the partition's end once the producer is done, asked of the broker then: a fetch's
	// high watermark may predate the producer's last records (the test lost one sample in a
	// hundred that way).
	end := int64(-1)
	var next int64
	var giveUp <-chan time.Time
	for {
		select {
		case <-producerDone:
			if giveUp == nil {
				giveUp = time.After(bareLatencyGrace)
				ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
				if err != nil {
					return b, err
				}
				o, ok := ends.Lookup(topic, bareLatencyPartition)
				if !ok || o.Err != nil {
					return b, fmt.Errorf("bare consumer: the end of %s/%d: %v", topic, bareLatencyPartition, o.Err)
				}
				end = o.Offset
			}
			if next >= end {
				return b, nil
			}
		default:
		}
		pollCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		fs := cl.PollRecords(pollCtx, 10000)
		cancel()
		if ctx.Err() != nil {
			return b, nil
		}
		select {
		case <-giveUp:
			return b, nil
		default:
		}
		now := time.Now()
		fs.EachPartition(func(fp kgo.FetchTopicPartition) {
			for _, r := range fp.Records {
				next = r.Offset + 1
				if r.Offset%b.every == 0 {
					b.record(now, now.Sub(r.Timestamp))
				}
			}
		})
	}
}

// bareLatencyGrace is how long the baseline may take to read the rest of its partition after
// the producer is done; it is far ahead of the worker, so this is only a bound.
const bareLatencyGrace = 10 * time.Second

func (b *bareLatency) record(now time.Time, d time.Duration) {
	us := max(d.Microseconds(), 1)
	_ = b.hist.RecordValue(min(us, b.hist.HighestTrackableValue()))
	b.worst.add(now, us)
}

// bareLatencyResult is the baseline as the report gives it (milliseconds).
type bareLatencyResult struct {
	Partition   int32     `json:"partition"`
	SampleEvery int64     `json:"sample_every"`
	ToPoll      quantiles `json:"append_to_poll_ms"`
	// WorstPerSecond is aligned with the worker's (latencyResult.WorstPerSecond) through
	// WorstFromUnix: each series starts at its own first sample.
	WorstPerSecond []float64 `json:"worst_per_second_ms"`
	WorstFromUnix  float64   `json:"worst_from_unix"`
}

func (b *bareLatency) result() *bareLatencyResult {
	r := &bareLatencyResult{Partition: bareLatencyPartition, SampleEvery: b.every, ToPoll: quantilesOf(b.hist)}
	r.WorstPerSecond, r.WorstFromUnix = b.worst.ms()
	return r
}

// slowSecondMS is the per-second worst delay the report counts as a slow second: the p99 target.
const slowSecondMS = 100.0

// slowSeconds counts the seconds in which weir's worst sampled delay exceeded ms, and how many
// of those the bare consumer's worst exceeded it too (its second overlapping weir's the most).
func slowSeconds(l *latencyResult, ms float64) (weir, both int) {
	for i, w := range l.WorstPerSecond {
		if w <= ms {
			continue
		}
		weir++
		if l.Bare == nil || l.Bare.WorstFromUnix == 0 {
			continue
		}
		// Second i of weir's series starts at off seconds into the bare consumer's.
		off := l.WorstFromUnix + float64(i) - l.Bare.WorstFromUnix
		for _, j := range []int{int(math.Floor(off)), int(math.Floor(off)) + 1} {
			if j >= 0 && j < len(l.Bare.WorstPerSecond) && l.Bare.WorstPerSecond[j] > ms {
				both++
				break
			}
		}
	}
	return weir, both
}
