package kinesis_test

import (
	"context"
	"math/big"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/weirstream/weir/internal/kinesalite"
	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/internal/moto"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/sources/kinesis"
)

// A split and then a merge while records are being written, read by two workers on
// kinesalite (moto reshards wrongly): every record is counted exactly once, and per key the
// records are first folded in exactly the order they were written, parent shards before
// children (the merge's child also after its adjacent parent). Closed parents end
// checkpointed as SHARD_END.
func TestReshardWhileProducingKeepsPerKeyOrder(t *testing.T) {
	kl := kinesalite.Start(t)
	ddb := moto.Start(t)
	e := newEnv(t, kl.Endpoint(), ddb.Endpoint())
	const stream = "reshard"
	e.createStream(t, stream, 2)
	p := newProducer(e, stream, 24)
	log := newFoldLog()
	st := newStore()
	a := e.startWorker(t, stream, st, workerOpts{id: "a", log: log})
	b := e.startWorker(t, stream, st, workerOpts{id: "b", log: log})

	// Produce continuously in the background until the resharding is done.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var perr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := p.putRound(t.Logf); err != nil {
				perr = err
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	waitUntil(t, 30*time.Second, "records flowing", func() bool { return st.Distinct() > 200 }, a, b)

	ids := e.shardIDs(t, stream)
	// Split shard 0 ([0, 2^127)) at 2^126: two children.
	quarter := new(big.Int).Lsh(big.NewInt(1), 126).String()
	if _, err := e.kin.SplitShard(context.Background(), &awskinesis.SplitShardInput{StreamName: aws.String(stream),
		ShardToSplit: aws.String(ids[0]), NewStartingHashKey: aws.String(quarter)}); err != nil {
		t.Fatal(err)
	}
	e.waitActive(t, stream)
	time.Sleep(time.Second) // records land in the children for a while
	after := e.shardIDs(t, stream)
	if len(after) != 4 {
		t.Fatalf("after the split: shards %v", after)
	}
	// Merge the split's upper child ([2^126, 2^127)) with shard 1 ([2^127, 2^128)): adjacent.
	upper := after[3]
	if _, err := e.kin.MergeShards(context.Background(), &awskinesis.MergeShardsInput{StreamName: aws.String(stream),
		ShardToMerge: aws.String(upper), AdjacentShardToMerge: aws.String(ids[1])}); err != nil {
		t.Fatal(err)
	}
	e.waitActive(t, stream)
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	if perr != nil {
		t.Fatal(perr)
	}
	final := e.shardIDs(t, stream)
	t.Logf("shards %v; %d records written", final, p.total())
	waitUntil(t, 90*time.Second, "every record durable", func() bool { return st.Distinct() == p.total() }, a, b)
	a.Stop(t)
	b.Stop(t)

	missing, dups := st.Check(p.ids())
	violations := 0
	log.mu.Lock()
	for _, k := range p.keys {
		// A lease that changes hands (balancing, a shard's end) leaves its open windows to be
		// read again by the next owner: a record folded again repeats an earlier fold, and the
		// order is that of each record's first fold.
		got := log.order[k]
		seen := map[int]bool{}
		for i, v := range got {
			if seen[v] {
				continue
			}
			if v != len(seen) {
				violations++
				if violations < 5 {
					t.Errorf("key %s: record %d first folded after %d others (order %v...)", k, v, len(seen), got[max(0, i-3):min(len(got), i+3)])
				}
				break
			}
			seen[v] = true
		}
		if len(seen) != p.next[k] {
			t.Errorf("key %s: %d records folded, %d written", k, len(seen), p.next[k])
		}
	}
	log.mu.Unlock()
	t.Logf("reshard: %d records, missing %d, duplicates %d, keys out of order %d", p.total(), missing, dups, violations)
	if missing != 0 || dups != 0 {
		t.Errorf("missing %d, duplicates %d", missing, dups)
	}
	// A closed shard ends at SHARD_END, and its lease is deleted once its children have passed
	// it (TestFinishedShardLeaseDeletedOnceChildrenPassedIt): either is right here.
	leases := e.leases(t, "leases-"+stream)
	gone := 0
	for _, closed := range []string{ids[0], ids[1], upper} {
		l, ok := leases[closed]
		if !ok {
			gone++
		} else if l.Checkpoint != "SHARD_END" {
			t.Errorf("closed shard %s checkpoint %q, want SHARD_END", closed, l.Checkpoint)
		}
	}
	var ended, deleted float64
	for _, w := range []*worker{a, b} {
		ended += metrictest.Sum(t, w.Reg, "weir_kinesis_lease_events_total", map[string]string{"event": "shard_end"})
		deleted += metrictest.Sum(t, w.Reg, "weir_kinesis_lease_events_total", map[string]string{"event": "deleted"})
	}
	if ended < 3 || int(deleted) != gone {
		t.Errorf("%v shard_end events for 3 closed shards; %v leases deleted, %d closed shards without a lease", ended, deleted, gone)
	}
	merged := final[len(final)-1]
	if got := leases[merged].Parents; len(got) != 2 {
		t.Errorf("merged shard %s parents %v, want two", merged, got)
	}
}

// putRound writes one record per key (for use off the test goroutine); logf as in
// putExactlyOnce.
func (p *producer) putRound(logf func(string, ...any)) error {
	var entries []awsEntry
	for _, k := range p.keys {
		entries = append(entries, awsEntry{PartitionKey: aws.String(k), Data: record(k, p.nextOf(k))})
	}
	if err := p.e.putExactlyOnce(context.Background(), p.stream, entries, logf); err != nil {
		return err
	}
	p.mu.Lock()
	for _, k := range p.keys {
		p.next[k]++
	}
	p.mu.Unlock()
	return nil
}

func (e *env) shardIDs(t *testing.T, stream string) []string {
	t.Helper()
	out, err := e.kin.ListShards(context.Background(), &awskinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range out.Shards {
		ids = append(ids, *s.ShardId)
	}
	return ids
}

// A split shard's children have their leases by the time the parent's last partial (Ended) is
// written: the fleet's aggregator reads the partition set (every shard in the lease table) when
// it merges that partial's window, and a child missing from the set then has its partial of
// that window left out of the reports. The periodic shard sync is set far away, so only the
// finishing shard can create the children's leases in time.
func TestSplitChildrenLeasedBeforeTheParentEnds(t *testing.T) {
	kl := kinesalite.Start(t)
	ddb := moto.Start(t)
	e := newEnv(t, kl.Endpoint(), ddb.Endpoint())
	const stream, table = "ended", "leases-ended"
	e.createStream(t, stream, 1)
	p := newProducer(e, stream, 8)
	st := newStore()
	var mu sync.Mutex
	leasedAtEnd := map[string][]string{} // parent → the shards leased when its end was written
	var scanErr error
	st.OnEnded = func(part pipeline.Partition) { // on the runner's goroutine: no t.Fatal here
		out, err := e.ddb.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			scanErr = err
			return
		}
		for _, it := range out.Items {
			if k, ok := it["leaseKey"].(*ddbtypes.AttributeValueMemberS); ok {
				leasedAtEnd[part.ID] = append(leasedAtEnd[part.ID], k.Value)
			}
		}
	}
	a := e.startWorker(t, stream, st, workerOpts{id: "a", cfg: func(c *kinesis.Config) { c.ShardSyncInterval = time.Hour }})
	p.put(t, 5)
	waitUntil(t, 30*time.Second, "records durable", func() bool { return st.Distinct() == p.total() }, a)
	parent := e.shardIDs(t, stream)[0]
	if _, err := e.kin.SplitShard(context.Background(), &awskinesis.SplitShardInput{StreamName: aws.String(stream),
		ShardToSplit: aws.String(parent), NewStartingHashKey: aws.String(new(big.Int).Lsh(big.NewInt(1), 127).String())}); err != nil {
		t.Fatal(err)
	}
	e.waitActive(t, stream)
	children := e.shardIDs(t, stream)[1:]
	p.put(t, 5)
	waitUntil(t, 60*time.Second, "every record durable", func() bool { return st.Distinct() == p.total() }, a)
	a.Stop(t)
	mu.Lock()
	defer mu.Unlock()
	if scanErr != nil {
		t.Fatal(scanErr)
	}
	leased, ended := leasedAtEnd[parent]
	if !ended {
		t.Fatalf("the parent %s never wrote an Ended partial", parent)
	}
	for _, c := range children {
		if !slices.Contains(leased, c) {
			t.Errorf("child %s had no lease when the parent's Ended partial was written (leases then: %v)", c, leased)
		}
	}
}
