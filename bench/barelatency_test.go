package main

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The bare consumer reads its partition to the end once the producer is done, timing every
// every-th record from the record's timestamp (the intended send time) to its poll.
func TestBareLatencyReadsItsPartitionToTheEnd(t *testing.T) {
	addrs, cl, ctx := liveTopic(t)
	producerDone := make(chan struct{})
	type res struct {
		b   *bareLatency
		err error
	}
	got := make(chan res, 1)
	go func() {
		b, err := measureBareLatency(ctx, addrs, "live", 4, producerDone)
		got <- res{b, err}
	}()
	// 400 records on partition 0 stamped 250 ms in the past, and 400 on partition 1 stamped
	// an hour in the past, which the baseline must not read.
	for i := range 400 {
		for p, age := range map[int32]time.Duration{0: 250 * time.Millisecond, 1: time.Hour} {
			r := &kgo.Record{Partition: p, Value: []byte("x"), Timestamp: time.Now().Add(-age)}
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
		}
	}
	close(producerDone)
	r := <-got
	if r.err != nil {
		t.Fatal(r.err)
	}
	q := r.b.result().ToPoll
	if q.Count != 100 {
		t.Errorf("%d samples, want 100 (every 4th of partition 0's 400)", q.Count)
	}
	if q.P50 < 250 || q.Max > 10_000 {
		t.Errorf("append → poll %+v: want ≥ 250 ms (the records' age) and nothing from partition 1 (an hour)", q)
	}
}

// Slow seconds are matched across the two series by wall time, not by index.
func TestSlowSecondsAlignsTheSeries(t *testing.T) {
	l := &latencyResult{WorstFromUnix: 1000, WorstPerSecond: []float64{5, 300, 8, 250, 4},
		Bare: &bareLatencyResult{WorstFromUnix: 1001.4, WorstPerSecond: []float64{400, 6, 7, 9}}}
	// weir's second 1 ([1001, 1002)) overlaps the bare consumer's second 0 ([1001.4, 1002.4)),
	// which was slow; weir's second 3 ([1003, 1004)) overlaps its seconds 1 and 2, which were not.
	weir, both := slowSeconds(l, 100)
	if weir != 2 || both != 1 {
		t.Errorf("slow seconds: weir %d, both %d; want 2 and 1", weir, both)
	}
	if svg := string(latencySVG(l)); !strings.Contains(svg, "bare consumer") {
		t.Error("the per-second chart lacks the bare consumer's series")
	}
}
