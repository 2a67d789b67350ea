package kinesis_test

import (
	"context"
	"fmt"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/weirstream/weir/internal/kinesalite"
	"github.com/weirstream/weir/internal/moto"
	"github.com/weirstream/weir/pipeline"
)

// stampedProducer writes rounds of one record per key, each a JSON object stamped with the
// wall clock at the put, and remembers every payload.
type stampedProducer struct {
	e      *env
	stream string
	keys   []string
	mu     sync.Mutex
	sent   []string
}

func (p *stampedProducer) round(logf func(string, ...any)) error {
	var entries []awsEntry
	var payloads []string
	now := time.Now().UTC()
	p.mu.Lock()
	n := len(p.sent)
	p.mu.Unlock()
	for i, k := range p.keys {
		v := fmt.Sprintf(`{"ts":%q,"id":"%s/%d"}`, now.Format(time.RFC3339Nano), k, n+i)
		payloads = append(payloads, v)
		entries = append(entries, awsEntry{PartitionKey: aws.String(k), Data: []byte(v)})
	}
	if err := p.e.putExactlyOnce(context.Background(), p.stream, entries, logf); err != nil {
		return err
	}
	p.mu.Lock()
	p.sent = append(p.sent, payloads...)
	p.mu.Unlock()
	return nil
}

func (p *stampedProducer) total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.sent)
}

// Event time on a live Kinesis stream with quiet gaps: 4 shards on kinesalite, a split and a
// merge, two workers, records stamped with the clock at the put, and quiet spells between the
// bursts three times the idle timeout. Every record is counted exactly once and none is late.
// The run of this shape (event time on $.ts, before the per-partition rules) sent 27%
// of the records to dead letters as late, with a watermark 53 minutes ahead of the clock.
func TestEventTimeQuietGapsAcrossReshard(t *testing.T) {
	kl := kinesalite.Start(t)
	ddb := moto.Start(t)
	e := newEnv(t, kl.Endpoint(), ddb.Endpoint())
	const stream = "quiet"
	e.createStream(t, stream, 4)
	p := &stampedProducer{e: e, stream: stream}
	for i := range 16 {
		p.keys = append(p.keys, fmt.Sprintf("key-%03d", i))
	}
	st := newStore()
	window := func(wc *pipeline.WindowConfig) {
		wc.Time = pipeline.EventTime
		wc.TimeField = "$.ts"
		wc.Period = time.Second
		wc.AllowedLateness = 2 * time.Second // above a poll interval plus a fetch
		wc.IdleTimeout = 400 * time.Millisecond
	}
	a := e.startWorker(t, stream, st, workerOpts{id: "a", window: window})
	b := e.startWorker(t, stream, st, workerOpts{id: "b", window: window})

	// Bursts of ten rounds 20 ms apart, quiet spells of 1.2 s between, a split after the
	// second burst and a merge after the fourth.
	burst := func() {
		for range 10 {
			if err := p.round(t.Logf); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	ids := e.shardIDs(t, stream)
	for i := range 6 {
		burst()
		switch i {
		case 1:
			// Split shard 0 ([0, 2^126)) in the middle of its range.
			mid := new(big.Int).Lsh(big.NewInt(1), 125).String()
			if _, err := e.kin.SplitShard(context.Background(), &awskinesis.SplitShardInput{StreamName: aws.String(stream),
				ShardToSplit: aws.String(ids[0]), NewStartingHashKey: aws.String(mid)}); err != nil {
				t.Fatal(err)
			}
			e.waitActive(t, stream)
		case 3:
			// Merge shards 2 and 3 (adjacent, untouched by the split).
			if _, err := e.kin.MergeShards(context.Background(), &awskinesis.MergeShardsInput{StreamName: aws.String(stream),
				ShardToMerge: aws.String(ids[2]), AdjacentShardToMerge: aws.String(ids[3])}); err != nil {
				t.Fatal(err)
			}
			e.waitActive(t, stream)
		}
		time.Sleep(1200 * time.Millisecond)
	}
	waitUntil(t, 90*time.Second, "every record durable", func() bool { return st.Distinct() == p.total() }, a, b)
	a.Stop(t)
	b.Stop(t)

	missing, dups := st.Check(p.sent)
	t.Logf("%d records over %d shards: missing %d, duplicates %d, dead letters %d", len(p.sent), len(e.shardIDs(t, stream)),
		missing, dups, st.DeadLetters())
	if missing != 0 || dups != 0 || st.DeadLetters() != 0 {
		t.Errorf("missing %d, duplicates %d, dead letters %d; want none", missing, dups, st.DeadLetters())
	}
}
