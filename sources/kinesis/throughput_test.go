package kinesis_test

import (
	"testing"
	"time"

	"github.com/weirstream/weir/internal/kinesalite"
	"github.com/weirstream/weir/internal/moto"
)

// One worker reads a backlog from kinesalite through the whole pipeline (leases in moto):
// every record once. The log line gives records per second per shard (lease take and window
// flushes included) for a reader's eye; it asserts no rate, which on a shared machine failed
// for reasons that were not weir's (a rate belongs in a benchmark).
func TestBacklogAgainstKinesalite(t *testing.T) {
	if testing.Short() {
		t.Skip("a 15,000-record backlog")
	}
	kl := kinesalite.Start(t)
	ddb := moto.Start(t)
	e := newEnv(t, kl.Endpoint(), ddb.Endpoint())
	const stream, shards = "throughput", 2
	e.createStream(t, stream, shards)
	p := newProducer(e, stream, 100)
	p.put(t, 150) // 15000 records
	st := newStore()
	start := time.Now()
	w := e.startWorker(t, stream, st, workerOpts{id: "a"})
	waitUntil(t, 120*time.Second, "every record durable", func() bool { return st.Distinct() == p.total() }, w)
	elapsed := time.Since(start)
	w.Stop(t)
	t.Logf("kinesalite: %d records over %d shards in %v: %.0f records/s per shard",
		p.total(), shards, elapsed.Round(time.Millisecond), float64(p.total())/elapsed.Seconds()/shards)
	if missing, dups := st.Check(p.ids()); missing != 0 || dups != 0 {
		t.Errorf("missing %d, read twice %d", missing, dups)
	}
}
