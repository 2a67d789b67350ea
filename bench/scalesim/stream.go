package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// Source is the kind of stream the fleet reads, which decides what the fleet can measure:
// Kafka has end and committed offsets (record lag, arrival rate from the brokers); Kinesis
// has neither, only each reader's MillisBehindLatest.
type Source string

const (
	Kafka   Source = "kafka"
	Kinesis Source = "kinesis"
)

// Stream is the topic or stream: partitions with fixed shares of the arrival rate, and per
// partition the records not yet processed, in arrival order, so that a reader's time lag (the
// age of the oldest unread record, Kinesis' MillisBehindLatest) is what it would be.
type Stream struct {
	Source Source
	// Shares are the partitions' shares of the arrival rate (summing to 1).
	Shares []float64
	queues []queue
	// Ends and Done are each partition's records appended and processed so far: Kafka's end
	// offset and, with no window holds in the model, its committed offset.
	Ends, Done []float64
}

// Even returns n equal shares.
func Even(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = 1 / float64(n)
	}
	return s
}

// Zipf returns n shares proportional to 1/rank^exponent, ranks shuffled over the partitions
// (deterministically from seed): hot keys land on whichever partition their hash picks.
func Zipf(n int, exponent float64, seed uint64) []float64 {
	s := make([]float64, n)
	sum := 0.0
	for i := range s {
		s[i] = 1 / math.Pow(float64(i+1), exponent)
		sum += s[i]
	}
	for i := range s {
		s[i] /= sum
	}
	rng := rand.New(rand.NewPCG(seed, 0x21bf))
	rng.Shuffle(n, func(i, j int) { s[i], s[j] = s[j], s[i] })
	return s
}

// NewStream returns an empty stream with the given shares.
func NewStream(src Source, shares []float64) *Stream {
	n := len(shares)
	return &Stream{Source: src, Shares: slices.Clone(shares), queues: make([]queue, n), Ends: make([]float64, n), Done: make([]float64, n)}
}

// Arrive appends rate × share records to every partition at t.
func (s *Stream) Arrive(t time.Duration, rate float64) {
	for p, sh := range s.Shares {
		n := rate * sh
		s.queues[p].push(t, n)
		s.Ends[p] += n
	}
}

// Lag is partition p's records not yet processed.
func (s *Stream) Lag(p int) float64 { return s.queues[p].lag }

// TotalLag is every partition's.
func (s *Stream) TotalLag() float64 {
	sum := 0.0
	for p := range s.queues {
		sum += s.queues[p].lag
	}
	return sum
}

// Take processes up to n of partition p's oldest records and returns how many it took.
func (s *Stream) Take(p int, n float64) float64 {
	got := s.queues[p].pop(n)
	s.Done[p] += got
	return got
}

// Behind is partition p's time lag at now: the age of its oldest unread record, 0 when there is
// none (MillisBehindLatest is 0 for a reader at the tip).
func (s *Stream) Behind(p int, now time.Duration) time.Duration {
	if t, ok := s.queues[p].oldest(); ok {
		return max(0, now-t)
	}
	return 0
}

// queue is a partition's unread records as per-second buckets, oldest first.
type queue struct {
	b    []bucket
	head int
	lag  float64
}

type bucket struct {
	t time.Duration
	n float64
}

// epsilon: fluid processing leaves crumbs of records; below this a bucket is empty.
const epsilon = 1e-6

func (q *queue) push(t time.Duration, n float64) {
	if n <= 0 {
		return
	}
	q.b = append(q.b, bucket{t, n})
	q.lag += n
}

func (q *queue) pop(n float64) float64 {
	took := 0.0
	for n > epsilon && q.head < len(q.b) {
		b := &q.b[q.head]
		k := min(b.n, n)
		b.n -= k
		n -= k
		took += k
		if b.n <= epsilon {
			q.head++
		}
	}
	q.lag = max(0, q.lag-took)
	if q.head > 1024 && q.head*2 > len(q.b) { // reclaim the consumed front
		q.b = append(q.b[:0], q.b[q.head:]...)
		q.head = 0
	}
	if q.head == len(q.b) {
		q.b, q.head, q.lag = q.b[:0], 0, 0
	}
	return took
}

func (q *queue) oldest() (time.Duration, bool) {
	if q.head < len(q.b) {
		return q.b[q.head].t, true
	}
	return 0, false
}
