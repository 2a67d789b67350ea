package kinesis_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/internal/moto"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/sources/kinesis"
	"github.com/weirstream/weir/sources/sourcetest"
)

// faulty injects the errors moto never returns in front of a real client: throttling on
// GetRecords and GetShardIterator, and expired iterators.
type faulty struct {
	kinesis.StreamAPI
	calls, throttled, expired atomic.Int64
}

func (f *faulty) GetRecords(ctx context.Context, in *awskinesis.GetRecordsInput, o ...func(*awskinesis.Options)) (*awskinesis.GetRecordsOutput, error) {
	n := f.calls.Add(1)
	switch {
	case n%3 == 0:
		f.throttled.Add(1)
		return nil, &types.ProvisionedThroughputExceededException{Message: aws.String("Rate exceeded for shard")}
	case n%7 == 0:
		f.expired.Add(1)
		return nil, &types.ExpiredIteratorException{Message: aws.String("Iterator expired")}
	}
	return f.StreamAPI.GetRecords(ctx, in, o...)
}

func (f *faulty) GetShardIterator(ctx context.Context, in *awskinesis.GetShardIteratorInput, o ...func(*awskinesis.Options)) (*awskinesis.GetShardIteratorOutput, error) {
	if f.calls.Add(1)%5 == 0 {
		f.throttled.Add(1)
		return nil, &types.ProvisionedThroughputExceededException{Message: aws.String("Rate exceeded")}
	}
	return f.StreamAPI.GetShardIterator(ctx, in, o...)
}

// Throttled and expired-iterator reads back off and resume where they were: nothing lost,
// nothing read twice.
func TestThrottlingAndExpiredIteratorsLoseNothing(t *testing.T) {
	srv := moto.Start(t)
	e := newEnv(t, srv.Endpoint(), srv.Endpoint())
	const stream = "throttled"
	e.createStream(t, stream, 2)
	p := newProducer(e, stream, 16)
	p.put(t, 40)
	st := newStore()
	f := &faulty{}
	wrap := kinesis.WithStreamAPI(func(k kinesis.StreamAPI) kinesis.StreamAPI { f.StreamAPI = k; return f })
	// Small GetRecords pages, so the shards take many calls and meet every fault.
	w := e.startWorker(t, stream, st, workerOpts{id: "a", opts: []kinesis.Option{wrap}, cfg: func(c *kinesis.Config) { c.Limit = 25 }})
	p.put(t, 40)
	waitUntil(t, 90*time.Second, "every record durable", func() bool { return st.Distinct() == p.total() }, w)
	throttles := metrictest.Sum(t, w.Reg, "weir_kinesis_api_errors_total", map[string]string{"reason": "throttle"})
	w.Stop(t)
	missing, dups := st.Check(p.ids())
	t.Logf("%d records, %d calls, %d throttled, %d expired iterators; missing %d, read twice %d",
		p.total(), f.calls.Load(), f.throttled.Load(), f.expired.Load(), missing, dups)
	if missing != 0 || dups != 0 {
		t.Errorf("missing %d, read twice %d", missing, dups)
	}
	if f.throttled.Load() == 0 || f.expired.Load() == 0 || throttles == 0 {
		t.Errorf("faults injected: %d throttles (%v counted), %d expired: the test proves nothing", f.throttled.Load(), throttles, f.expired.Load())
	}
}

// A worker whose lease was taken by another (here: written into the table as a worker that
// judged it expired would) stops reading the shard, refuses commit points for it, and never
// writes its checkpoint again; the other shard goes on.
func TestLostLeaseCannotCheckpoint(t *testing.T) {
	srv := moto.Start(t)
	e := newEnv(t, srv.Endpoint(), srv.Endpoint())
	const stream, table = "fenced", "leases-fenced"
	e.createStream(t, stream, 2)
	p := newProducer(e, stream, 16)
	p.put(t, 20)
	st := newStore()
	w := e.startWorker(t, stream, st, workerOpts{id: "a"})
	waitUntil(t, 60*time.Second, "every record durable and checkpointed", func() bool {
		if st.Distinct() != p.total() {
			return false
		}
		for _, l := range e.leases(t, table) {
			if l.Checkpoint == "TRIM_HORIZON" {
				return false
			}
		}
		return true
	}, w)
	victim, other := "shardId-000000000000", "shardId-000000000001"
	before := e.leases(t, table)[victim]
	otherBefore := e.leases(t, table)[other].Checkpoint
	// The intruder's take: owner and counter change, exactly the source's own take.
	_, err := e.ddb.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName:        aws.String(table),
		Key:              map[string]ddbtypes.AttributeValue{"leaseKey": &ddbtypes.AttributeValueMemberS{Value: victim}},
		UpdateExpression: aws.String("SET leaseOwner = :o, leaseCounter = leaseCounter + :one"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":o": &ddbtypes.AttributeValueMemberS{Value: "intruder"}, ":one": &ddbtypes.AttributeValueMemberN{Value: "1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	taken := e.leases(t, table)[victim]
	waitUntil(t, 30*time.Second, "the worker noticing the lost lease", func() bool {
		for _, id := range w.src.Held() {
			if id == victim {
				return false
			}
		}
		return true
	}, w)
	// Records keep coming; a commit point for the lost shard (an ack arriving late) is refused.
	p.put(t, 20)
	w.src.Commit(pipeline.Partition{Stream: stream, ID: victim}, pipeline.Checkpoint{Position: pipeline.Position{Offset: 1 << 40, Seq: "99999999999999999999999999999999999999999999999999999999", Sub: 0}})
	waitUntil(t, 60*time.Second, "the other shard checkpointing on", func() bool {
		return e.leases(t, table)[other].Checkpoint != otherBefore
	}, w)
	time.Sleep(time.Second) // five checkpoint intervals: time for a wrong write to show
	w.Stop(t)
	after := e.leases(t, table)[victim]
	if after.Owner != "intruder" || after.Checkpoint != before.Checkpoint || after.Counter != taken.Counter {
		t.Errorf("lost lease written after it was lost: before %+v, taken %+v, after %+v", before, taken, after)
	}
	if got := metrictest.Sum(t, w.Reg, "weir_kinesis_commits_rejected_total", map[string]string{"reason": "not_owned"}); got < 1 {
		t.Errorf("weir_kinesis_commits_rejected_total{reason=not_owned} = %v, want >= 1", got)
	}
	if got := metrictest.Sum(t, w.Reg, "weir_kinesis_lease_events_total", map[string]string{"event": "lost"}); got != 1 {
		t.Errorf("lost events %v, want 1", got)
	}
}

// lossy forwards every DynamoDB request to the server but loses the answer of some lease
// renewals and checkpoints after the server applied them: the worker hears nothing until its
// deadline (a slow server or network; under CPU load moto answered renewals after their
// 500 ms deadline this way), or a reset connection, which weir's retry policy retries within
// the same call. Takes, releases and handovers are answered, so that what the test sees is
// the effect of the lost answers alone.
type lossy struct {
	next        aws.HTTPClient
	writes, n   atomic.Int64
	late, reset atomic.Int64
	// silent, while set, loses the answer of every renewal and checkpoint the server applied
	// (late); its refusals are answered.
	silent atomic.Bool
	// slowScans, while set, holds every Scan that long before the server sees it: a large
	// lease table, or a slow patch of DynamoDB.
	slowScans atomic.Int64
}

func (l *lossy) Do(req *http.Request) (*http.Response, error) {
	if d := time.Duration(l.slowScans.Load()); d > 0 && req.Header.Get("X-Amz-Target") == "DynamoDB_20120810.Scan" {
		select {
		case <-time.After(d):
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
	if req.Header.Get("X-Amz-Target") != "DynamoDB_20120810.UpdateItem" || req.Body == nil {
		return l.next.Do(req)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	renewOrCheckpoint := bytes.Contains(body, []byte(`"UpdateExpression":"SET leaseCounter = :next`)) &&
		!bytes.Contains(body, []byte("REMOVE"))
	if !renewOrCheckpoint || (l.writes.Add(1)%3 != 0 && !l.silent.Load()) {
		return l.next.Do(req)
	}
	resp, err := l.next.Do(req)
	if err != nil {
		return resp, err
	}
	if l.silent.Load() && resp.StatusCode != http.StatusOK {
		return resp, nil
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if l.n.Add(1)%2 == 0 && !l.silent.Load() {
		l.reset.Add(1)
		return nil, errors.New("read tcp: connection reset by peer")
	}
	l.late.Add(1)
	<-req.Context().Done()
	return nil, req.Context().Err()
}

// lossyRun is one worker on a 2-shard stream of moto whose DynamoDB answers go through lossy.
type lossyRun struct {
	l       *lossy
	lat     *latencies // under lossy: how slow moto itself was
	logs    *logBuffer
	cfg     kinesis.Config
	shardOf func(key string) string
	p       *producer
	st      *sourcetest.Store
	w       *worker
}

func startLossy(t *testing.T, stream string, timing func(*kinesis.Config)) *lossyRun {
	t.Helper()
	srv := moto.Start(t)
	e := newEnv(t, srv.Endpoint(), srv.Endpoint())
	e.createStream(t, stream, 2)
	r := &lossyRun{lat: &latencies{next: e.ddbCfg.HTTPClient}, logs: &logBuffer{}, cfg: testConfig(stream, "", "a"),
		shardOf: e.shardOfKey(t, stream), p: newProducer(e, stream, 16), st: newStore()}
	if timing != nil {
		timing(&r.cfg)
	}
	r.l = &lossy{next: r.lat}
	r.w = e.withDynamoDB(r.l).startWorker(t, stream, r.st, workerOpts{id: "a", cfg: timing, logs: r.logs})
	return r
}

// finish waits for every record, stops the worker and checks that it kept both leases: none
// lost, each shard taken once, every record counted once. Windows are by processing time
// here, so a record read again after a lost lease lands in a second window: "counted twice" is
// how a re-read shows, and a shard taken more than once says where it came from.
//
// A lease moto itself (under lossy's faults) was too slow to let the worker renew within
// LeaseDuration is given up, as it must be (slowserver_test.go): such a loss is logged, and
// allowed with its re-take and its shard's re-reads; any other loss, or a re-read in a shard
// whose lease was kept, fails the test.
func (r *lossyRun) finish(t *testing.T) {
	t.Helper()
	waitUntil(t, 60*time.Second, "every record durable", func() bool { return r.st.Distinct() == r.p.total() }, r.w)
	events := map[string]float64{}
	for _, ev := range []string{"taken", "taken_expired", "lost", "recovered", "released", "handed_over"} {
		events[ev] = metrictest.Sum(t, r.w.Reg, "weir_kinesis_lease_events_total", map[string]string{"event": ev})
	}
	r.w.Stop(t)
	missing, dups := r.st.Check(r.p.ids())
	taken := events["taken"] + events["taken_expired"]
	t.Logf("%d records; answers lost: %d late, %d reset; lease events %v; missing %d, counted twice %d",
		r.p.total(), r.l.late.Load(), r.l.reset.Load(), events, missing, dups)
	slow, unexplained := explained(losses(t, r.logs), r.lat, r.cfg.LeaseDuration, r.cfg.RenewInterval)
	if len(slow) > 0 {
		t.Logf("leases moto was too slow to let the worker renew (given up, taken again, read again from their checkpoints):%s",
			describe(slow))
	}
	if len(unexplained) > 0 {
		t.Errorf("leases lost while moto answered within the write budget:%s", describe(unexplained))
	}
	// Each lease given up may have been taken again (not if that came after the last record).
	if most := float64(2 + len(slow)); events["lost"] != float64(len(slow)+len(unexplained)) || taken < 2 || taken > most || missing != 0 {
		t.Errorf("leases lost %v, taken %v for 2 shards, missing %d; want %d, 2 to %v, 0", events["lost"], taken, missing, len(slow), most)
	}
	for shard, n := range dupsByShard(r.st.Counts(), r.p.ids(), r.shardOf) {
		if !shardsOf(slow)[shard] {
			t.Errorf("%d records of %s counted twice (want 0: its lease was kept)", n, shard)
		}
	}
	if events["recovered"] == 0 {
		t.Error("no write recovered: the lost answers never mattered, the test proves nothing")
	}
}

// A renewal or checkpoint whose answer is lost may have landed: the lease counter moved under
// the worker's own name, and its next write, fenced on the old counter, is refused. That is
// not a lost lease: the worker must find its own write in the table and carry on, instead of
// dropping the shard's open windows and re-reading it from the last checkpoint (duplicates
// with no failure at all, as TestReshardWhileProducingKeepsPerKeyOrder saw under load).
func TestLostWriteAnswersKeepTheLease(t *testing.T) {
	r := startLossy(t, "lossy", nil)
	// Records keep coming while answers are lost, so every lease has windows in flight.
	for r.l.late.Load() < 2 || r.l.reset.Load() < 2 {
		r.p.put(t, 1)
		time.Sleep(50 * time.Millisecond)
	}
	r.finish(t)
}

// The read-back after a lost answer scans the whole table; here every Scan takes longer than a
// renewal's budget (RenewInterval), as on a large table or a slow patch of DynamoDB. The
// read-back must be given the time the lease has left, not what is left of the refused
// write's budget: cut short, no write is ever found landed, and the worker gives up its leases
// after LeaseDuration although its writes moved their counters all along.
func TestSlowReadBacksKeepTheLease(t *testing.T) {
	// Each lost answer now costs a renewal's budget and a slow read-back, and under CPU load
	// two in a row came to more than 5 s: a lease duration with room for that.
	timing := func(c *kinesis.Config) { c.LeaseDuration = 8 * time.Second }
	r := startLossy(t, "slowscan", timing)
	r.p.put(t, 1)
	waitUntil(t, 30*time.Second, "the first records durable", func() bool { return r.st.Distinct() == r.p.total() }, r.w)
	cfg := r.cfg
	r.l.slowScans.Store(int64(cfg.RenewInterval + cfg.RenewInterval/10))
	// Longer than LeaseDuration, so that a worker that finds no write landed gives a lease up.
	for end := time.Now().Add(2 * cfg.LeaseDuration); time.Now().Before(end) || r.l.late.Load() < 2 || r.l.reset.Load() < 2; {
		r.p.put(t, 1)
		time.Sleep(50 * time.Millisecond)
	}
	r.l.slowScans.Store(0)
	r.finish(t)
}

// Every lease write the server applies loses its answer, for twice the lease duration; its
// refusals are answered. Each round the worker's write fenced on the old counter is refused,
// it finds its own unanswered write in the table, and writes again on it: the counter moves
// under its name all along, so no other worker may take the lease, and the worker must not
// give it up as unrenewed either. Giving it up re-reads the shards from their checkpoints.
func TestUnansweredRenewalsThatLandedKeepTheLease(t *testing.T) {
	r := startLossy(t, "silent", nil)
	r.p.put(t, 1)
	waitUntil(t, 30*time.Second, "the first records durable", func() bool { return r.st.Distinct() == r.p.total() }, r.w)
	r.l.silent.Store(true)
	cfg := testConfig("silent", "", "a")
	for end := time.Now().Add(2 * cfg.LeaseDuration); time.Now().Before(end); {
		r.p.put(t, 1)
		time.Sleep(50 * time.Millisecond)
	}
	r.l.silent.Store(false)
	r.p.put(t, 1)
	r.finish(t)
}
