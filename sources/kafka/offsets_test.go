package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/weirstream/weir/sources/kafka"
)

// Offsets is the brokers' view of every partition, owned by this member or not: the end
// offsets, and where the group resumes (its commit; without one, the log start).
func TestOffsetsAreTheWholeTopics(t *testing.T) {
	const group = "offsets-view"
	c := newCluster(t, 3)
	addrs := c.ListenAddrs()
	produceTo(t, addrs, 0, 100)
	produceTo(t, addrs, 1, 40)
	commitOffsets(t, addrs, group, map[int32]int64{0: 30, 2: 0})

	st := newStore()
	st.Stall(true) // nothing becomes durable: the member commits nothing itself
	w := startWorker(t, addrs, group, st, workerOpts{})
	waitUntil(t, 20*time.Second, "the backlog dispatched", func() bool { return w.RT.Stats().Records == 70+40 }, w)
	got, err := w.src.Offsets(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []kafka.PartitionOffsets{
		{End: 100, Committed: 30}, // the commit, not what this member dispatched (100)
		{End: 40, Committed: 0},   // no commit: the log start
		{End: 0, Committed: 0},
	}
	if len(got) != len(want) {
		t.Fatalf("offsets %+v", got)
	}
	for i, g := range got {
		if g.Partition.Stream != topic || g.Partition.ID != string(rune('0'+i)) || g.End != want[i].End || g.Committed != want[i].Committed {
			t.Errorf("partition %d: %+v, want end %d committed %d", i, g, want[i].End, want[i].Committed)
		}
	}
	produceTo(t, addrs, 2, 7)
	if got, _ := w.src.Offsets(context.Background()); got[2].End != 7 {
		t.Errorf("after producing to partition 2: %+v", got[2])
	}
}
