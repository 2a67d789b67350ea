package kinesis_test

import (
	"testing"
	"time"

	"github.com/weirstream/weir/internal/kinesalite"
	"github.com/weirstream/weir/internal/moto"
)

// How fast one worker reads a backlog from kinesalite, per shard, through the whole pipeline
// (leases in moto). The bound is loose (the machine is shared); the log line is the number.
func TestThroughputAgainstKinesalite(t *testing.T) {
	if testing.Short() {
		t.Skip("throughput measurement")
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
	perShard := float64(p.total()) / elapsed.Seconds() / shards
	t.Logf("kinesalite: %d records over %d shards in %v: %.0f records/s per shard (lease take and window flushes included)",
		p.total(), shards, elapsed.Round(time.Millisecond), perShard)
	if missing, dups := st.Check(p.ids()); missing != 0 || dups != 0 {
		t.Errorf("missing %d, read twice %d", missing, dups)
	}
	if perShard < 200 {
		t.Errorf("%.0f records/s per shard", perShard)
	}
}
