package kafka_test

import (
	"testing"
	"time"

	"github.com/weirstream/weir/internal/metrictest"
)

// A revoke whose drain runs out of time (the sink stalls) still commits what was durable before
// it: the commit has time of its own, instead of failing on the drain's expired deadline and
// sending the next owner back to the last periodic commit (here: the start of the partition).
func TestRevokeCommitsDurableMarksAfterDrainTimeout(t *testing.T) {
	// 4 windows of 1s per partition; the last stays open (the idle timeout is long), so its
	// first offset is where the commit point rests.
	const parts, n, durable = 4, 2000, 1500
	c := newCluster(t, parts)
	addrs := c.ListenAddrs()
	produce(t, addrs, parts, 0, n, 2*time.Millisecond)
	st := newStore()
	// No periodic commit within the test: only the revoke's commit can commit anything.
	o := workerOpts{commitInterval: time.Hour, revokeTimeout: time.Second, idle: time.Minute}
	a := startWorker(t, addrs, "revoke-commit", st, o)
	waitUntil(t, 20*time.Second, "three windows durable and marked", func() bool {
		return st.Distinct() == parts*durable && metrictest.Sum(t, a.Reg, "weir_kafka_commit_marks_total", nil) >= 3*parts
	}, a)
	if got := committedOffsets(t, addrs, "revoke-commit"); len(got) != 0 {
		t.Fatalf("committed before the revoke: %v; the test needs the revoke's commit alone", got)
	}
	// The store stalls: the revoke's drain cannot make anything more durable in time.
	st.Stall(true)
	b := startWorker(t, addrs, "revoke-commit", st, o)
	waitUntil(t, 30*time.Second, "b assigned (after a's revoke and commit)", func() bool {
		return metrictest.Sum(t, b.Reg, "weir_kafka_partition_events_total", map[string]string{"event": "assigned"}) > 0
	}, a, b)
	revoked := int(metrictest.Sum(t, a.Reg, "weir_kafka_partition_events_total", map[string]string{"event": "revoked"}))
	committed := committedOffsets(t, addrs, "revoke-commit")
	prefix := durablePrefix(st)
	atDurable := 0
	for p, off := range committed {
		if off > prefix[p] {
			t.Errorf("partition %s: committed %d, ahead of the durable prefix %d", p, off, prefix[p])
		}
		if off == durable {
			atDurable++
		}
	}
	// The revoke commits every mark, the kept partitions' included.
	t.Logf("a revoked %d partitions with a stalled sink; committed %v", revoked, committed)
	if revoked == 0 || atDurable != parts {
		t.Errorf("%d partitions revoked; %d of %d committed at their %d durable records (committed %v)", revoked, atDurable, parts, durable, committed)
	}

	st.Stall(false)
	b.Stop(t)
	a.Stop(t)
	// The last windows were still open when both stopped: their records are read again, from
	// the committed checkpoints, by a worker whose idle timeout lets them close; every record
	// is counted exactly once.
	c2 := startWorker(t, addrs, "revoke-commit", st, workerOpts{})
	waitUntil(t, 20*time.Second, "every record durable", func() bool { return st.Distinct() == parts*n }, c2)
	c2.Stop(t)
	var ids []string
	for p := range parts {
		for i := range n {
			ids = append(ids, itoa(p)+"/"+itoa(i))
		}
	}
	if missing, dups := st.Check(ids); missing != 0 || dups != 0 {
		t.Errorf("%d records missing, %d counted twice", missing, dups)
	}
}
