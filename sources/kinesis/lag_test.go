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
