package kinesis

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/lag"
	"github.com/weirstream/weir/pipeline"
)

// Held shards are sampled with their MillisBehindLatest as time lag; a shard no longer held is
// forgotten at once.
func TestLagSamplerFeedsTimeLagAndForgets(t *testing.T) {
	now := time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC)
	tr, err := lag.NewTracker(lag.DefaultConfig(), prometheus.NewRegistry(), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	s := &Source{held: map[string]*held{}}
	a := &held{shard: "shardId-0", part: pipeline.Partition{Stream: "s", ID: "shardId-0"}}
	b := &held{shard: "shardId-1", part: pipeline.Partition{Stream: "s", ID: "shardId-1"}}
	a.behind.set(1500, now)
	b.behind.set(0, now)
	s.held["shardId-0"], s.held["shardId-1"] = a, b
	ls := s.NewLagSampler(tr, func() time.Time { return now })
	ls.Sample()
	rep := tr.Snapshot(now)
	if len(rep.Partitions) != 2 {
		t.Fatalf("%d partitions tracked, want 2", len(rep.Partitions))
	}
	for _, p := range rep.Partitions {
		want := map[string]float64{"shardId-0": 1.5, "shardId-1": 0}[p.Partition.ID]
		if p.Seconds != want {
			t.Errorf("%s: time lag %vs, want %vs", p.Partition.ID, p.Seconds, want)
		}
	}
	delete(s.held, "shardId-1")
	ls.Sample()
	if rep := tr.Snapshot(now); len(rep.Partitions) != 1 || rep.Partitions[0].Partition.ID != "shardId-0" {
		t.Errorf("after losing shardId-1: %+v", rep.Partitions)
	}
}

// A shard being read while it is behind, for a whole lag window, is catching up, not stalled:
// the samples carry the lease's processed and committed ordinals, which move. Without them
// (every position Unknown) nothing seemed to move, and every shard behind for a whole window
// was STALL, which the stalled-partitions alarm counts; a shard not read at all still is.
func TestLagSamplerTellsCatchingUpFromStalled(t *testing.T) {
	now := time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC)
	cfg := lag.Config{Window: 30 * time.Second, Interval: 10 * time.Second, DrainCap: time.Hour}
	tr, err := lag.NewTracker(cfg, nil, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	s := &Source{held: map[string]*held{}}
	reading := &held{shard: "shardId-0", part: pipeline.Partition{Stream: "s", ID: "shardId-0"}}
	stuck := &held{shard: "shardId-1", part: pipeline.Partition{Stream: "s", ID: "shardId-1"}}
	s.held["shardId-0"], s.held["shardId-1"] = reading, stuck
	ls := s.NewLagSampler(tr, func() time.Time { return now })
	for i := range int64(4) {
		reading.behind.set(9000-1000*i, now)
		reading.next.Store(100 * (i + 1))
		reading.cand, reading.hasCand = pipeline.Checkpoint{Position: pipeline.Position{Offset: 100*i - 1}}, true
		stuck.behind.set(9000, now)
		ls.Sample()
		now = now.Add(10 * time.Second)
	}
	now = now.Add(-10 * time.Second)
	for _, p := range tr.Snapshot(now).Partitions {
		want := map[string]lag.Status{"shardId-0": lag.OK, "shardId-1": lag.STALL}[p.Partition.ID]
		if p.Status != want {
			t.Errorf("%s: %v, want %v", p.Partition.ID, p.Status, want)
		}
	}
}
