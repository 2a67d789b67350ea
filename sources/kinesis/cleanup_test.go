package kinesis_test

import (
	"testing"
	"time"

	"github.com/weirstream/weir/internal/kinesalite"
	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/internal/moto"
)

// After a real split (kinesalite), the parent's lease is deleted once both children have
// checkpointed past their start, never before, and no later shard sync gives the parent a new
// lease (which would read it again): every record is counted exactly once.
func TestFinishedShardLeaseDeletedOnceChildrenPassedIt(t *testing.T) {
	kl := kinesalite.Start(t)
	ddb := moto.Start(t)
	e := newEnv(t, kl.Endpoint(), ddb.Endpoint())
	const stream, table = "cleanup", "leases-cleanup"
	e.createStream(t, stream, 1)
	p := newProducer(e, stream, 16)
	st := newStore()
	w := e.startWorker(t, stream, st, workerOpts{id: "a"})
	bg := p.background(t, 20*time.Millisecond)
	waitUntil(t, 30*time.Second, "records flowing", func() bool { return st.Distinct() > 100 }, w)

	parent := e.shardIDs(t, stream)[0]
	e.splitInHalf(t, stream, parent)
	ids := e.shardIDs(t, stream)
	if len(ids) != 3 {
		t.Fatalf("after the split: shards %v", ids)
	}
	children := ids[1:]
	started := func(cp string) bool {
		return cp != "" && cp != "TRIM_HORIZON" && cp != "LATEST" && cp != "AT_TIMESTAMP"
	}
	sawEnd := false
	waitUntil(t, 60*time.Second, "the parent's lease deleted", func() bool {
		rows := e.leases(t, table)
		if row, ok := rows[parent]; ok {
			sawEnd = sawEnd || row.Checkpoint == "SHARD_END"
			return false
		}
		for _, c := range children {
			if !started(rows[c].Checkpoint) {
				t.Fatalf("parent lease deleted while child %s is at %q", c, rows[c].Checkpoint)
			}
		}
		return true
	}, w)
	if !sawEnd {
		t.Log("the parent's SHARD_END row was deleted between two looks at the table")
	}
	// Several shard syncs (every 2 s here) later, the parent still has no lease.
	time.Sleep(5 * time.Second)
	bg.halt(t)
	waitUntil(t, 60*time.Second, "every record durable", func() bool { return st.Distinct() == p.total() }, w)
	if _, ok := e.leases(t, table)[parent]; ok {
		t.Errorf("the parent %s has a lease again: %+v", parent, e.leases(t, table)[parent])
	}
	deleted := metrictest.Sum(t, w.Reg, "weir_kinesis_lease_events_total", map[string]string{"event": "deleted"})
	w.Stop(t)
	missing, dups := st.Check(p.ids())
	t.Logf("%d records, leases deleted %v; missing %d, read twice %d", p.total(), deleted, missing, dups)
	if missing != 0 || dups != 0 || deleted != 1 {
		t.Errorf("missing %d, read twice %d, leases deleted %v; want 0, 0, 1", missing, dups, deleted)
	}
}
