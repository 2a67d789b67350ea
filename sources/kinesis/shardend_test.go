package kinesis_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/weirstream/weir/internal/kinesalite"
	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/internal/moto"
	"github.com/weirstream/weir/pipeline"
)

// A split parent whose last record is a bad one (dead-lettered) still finishes, and its
// children are read. The runtime's dead-letter writer lingers up to a second to batch letters;
// the revoke at the shard's end returned before the letter was written, the shard's end was
// judged not durable, and the lease was given back for a re-read of the tail, which ended the
// same way: in a chaos trial the parent changed hands about a hundred times in two minutes and
// its children were never read.
func TestSplitParentEndingInABadRecordFinishes(t *testing.T) {
	kl := kinesalite.Start(t)
	ddb := moto.Start(t)
	e := newEnv(t, kl.Endpoint(), ddb.Endpoint())
	const stream = "badend"
	e.createStream(t, stream, 1)
	p := &stampedProducer{e: e, stream: stream, keys: []string{"a", "b", "c", "d"}}
	st := newStore()
	window := func(wc *pipeline.WindowConfig) {
		wc.Time = pipeline.EventTime
		wc.TimeField = "$.ts"
		wc.Period = time.Second
		wc.AllowedLateness = 2 * time.Second
		wc.IdleTimeout = 400 * time.Millisecond
	}
	a := e.startWorker(t, stream, st, workerOpts{id: "a", window: window})
	for range 3 {
		if err := p.round(t.Logf); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, 30*time.Second, "the first records durable", func() bool { return st.Distinct() == p.total() }, a)

	// The parent's last record cannot be decoded; the split follows at once, so the worker
	// reads the record and then the shard's end well within the letter writer's linger.
	parent := e.shardIDs(t, stream)[0]
	bad := []awsEntry{{PartitionKey: aws.String("a"), Data: []byte(`{"ts":`)}}
	if err := e.putExactlyOnce(context.Background(), stream, bad, t.Logf); err != nil {
		t.Fatal(err)
	}
	e.splitInHalf(t, stream, parent)
	for range 3 { // into the children
		if err := p.round(t.Logf); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, 60*time.Second, "the children's records durable", func() bool { return st.Distinct() == p.total() }, a)
	a.Stop(t)
	if missing, dups := st.Check(p.sent); missing != 0 || dups != 0 {
		t.Errorf("missing %d, duplicates %d", missing, dups)
	}
	// The first time the worker reached the parent's end, everything it had read was durable
	// (the letter included): the shard was not given back for a re-read.
	if n := metrictest.Sum(t, a.Reg, "weir_kinesis_lease_events_total", map[string]string{"event": "shard_end_deferred"}); n != 0 {
		t.Errorf("the parent's end deferred %v times (released for a re-read of its tail), want 0", n)
	}
	if n := metrictest.Sum(t, a.Reg, "weir_kinesis_lease_events_total", map[string]string{"event": "shard_end"}); n != 1 {
		t.Errorf("%v shards read to their end, want 1", n)
	}
	if n := st.DeadLetters(); n != 1 {
		t.Errorf("%d dead letters written, want the bad record's", n)
	}
}
