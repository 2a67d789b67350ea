package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weirstream/weir/pipeline"
)

// storeLatency is a delay the bench puts on every partial write, the way an S3 PUT takes tens
// of milliseconds where the file sink takes microseconds: Latency plus up to Jitter (uniform),
// and one write in TailEvery (0: none) takes Tail instead. It is a bench option (-store-latency,
// -store-jitter, -store-tail), not a product feature: a drain into S3, measured without S3.
type storeLatency struct {
	Latency   time.Duration `json:"latency,omitempty"`
	Jitter    time.Duration `json:"jitter,omitempty"`
	TailEvery int           `json:"tail_every,omitempty"`
	Tail      time.Duration `json:"tail,omitempty"`
}

func (l storeLatency) zero() bool { return l.Latency == 0 && l.Jitter == 0 && l.TailEvery == 0 }

// String is how the report names it: "30ms", "30ms+10ms jitter", "30ms, 1/20 500ms".
func (l storeLatency) String() string {
	if l.zero() {
		return "0"
	}
	s := l.Latency.String()
	if l.Jitter > 0 {
		s += "+" + l.Jitter.String() + " jitter"
	}
	if l.TailEvery > 0 {
		s += fmt.Sprintf(", 1/%d %v", l.TailEvery, l.Tail)
	}
	return s
}

// parseTail reads -store-tail: "N:D", one write in N takes D.
func parseTail(v string) (every int, d time.Duration, err error) {
	n, dur, ok := strings.Cut(v, ":")
	if !ok {
		return 0, 0, errors.New("want N:DURATION, e.g. 20:500ms (one write in 20 takes 500ms)")
	}
	if every, err = strconv.Atoi(n); err != nil || every < 1 {
		return 0, 0, fmt.Errorf("%q is not a count of at least 1", n)
	}
	if d, err = time.ParseDuration(dur); err != nil || d <= 0 {
		return 0, 0, fmt.Errorf("%q is not a positive duration", dur)
	}
	return every, d, nil
}

func (l storeLatency) check() error {
	if l.Latency < 0 || l.Jitter < 0 {
		return errors.New("-store-latency and -store-jitter must not be negative")
	}
	return nil
}

// wrap returns inner with the delay in front of every write.
func (l storeLatency) wrap(inner pipeline.PartialWriter) pipeline.PartialWriter {
	// Seeded alike in every run, so before and after see the same sequence of delays.
	return &slowStore{PartialWriter: inner, l: l, rng: rand.New(rand.NewPCG(7, 0x5705))}
}

type slowStore struct {
	pipeline.PartialWriter
	l storeLatency

	mu  sync.Mutex
	rng *rand.Rand
}

// delay is the next write's delay.
func (s *slowStore) delay() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.l.TailEvery > 0 && s.rng.IntN(s.l.TailEvery) == 0 {
		return s.l.Tail
	}
	d := s.l.Latency
	if s.l.Jitter > 0 {
		d += time.Duration(s.rng.Int64N(int64(s.l.Jitter)))
	}
	return d
}

func (s *slowStore) WritePartial(ctx context.Context, start time.Time, p pipeline.Partition, body []byte) error {
	if d := s.delay(); d > 0 {
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
	return s.PartialWriter.WritePartial(ctx, start, p, body)
}
