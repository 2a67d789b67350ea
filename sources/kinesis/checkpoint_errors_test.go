package kinesis_test

import (
	"bytes"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/weirstream/weir/internal/kinesalite"
	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/internal/moto"
	"github.com/weirstream/weir/sources/kinesis"
)

// refusingUpdates answers the UpdateItem calls whose body holds marker with a DynamoDB
// ValidationException, without forwarding them, while refuse is set (with once, only the next
// such call): the error a write meets when the table or the role is wrong. It counts what it
// refused; every other call goes through.
type refusingUpdates struct {
	next    aws.HTTPClient
	marker  string
	once    bool
	refuse  atomic.Bool
	refused atomic.Int64
}

func (r *refusingUpdates) Do(req *http.Request) (*http.Response, error) {
	if !r.refuse.Load() || req.Header.Get("X-Amz-Target") != "DynamoDB_20120810.UpdateItem" || req.Body == nil {
		return r.next.Do(req)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	if !bytes.Contains(body, []byte(r.marker)) || (r.once && !r.refuse.CompareAndSwap(true, false)) {
		return r.next.Do(req)
	}
	r.refused.Add(1)
	answer := []byte(`{"__type":"com.amazonaws.dynamodb.v20120810#ValidationException","message":"injected: write refused"}`)
	return &http.Response{StatusCode: http.StatusBadRequest, Request: req,
		Header: http.Header{"Content-Type": {"application/x-amz-json-1.0"},
			"X-Amz-Crc32": {strconv.FormatUint(uint64(crc32.ChecksumIEEE(answer)), 10)}}, // the SDK checks it
		Body: io.NopCloser(bytes.NewReader(answer))}, nil
}

// Checkpoint writes that fail are counted (weir_kinesis_checkpoint_errors_total) and reported
// by CommitErrors, which the worker publishes to CloudWatch; the lease is kept (a failed write
// is not a lost lease), and once the writes succeed again the checkpoint moves on.
func TestFailedCheckpointsAreCounted(t *testing.T) {
	srv := moto.Start(t)
	e := newEnv(t, srv.Endpoint(), srv.Endpoint())
	const stream, table = "refused", "leases-refused"
	e.createStream(t, stream, 1)
	rc := &refusingUpdates{next: e.ddbCfg.HTTPClient, marker: "checkpoint = :cp"}
	le := e.withDynamoDB(rc)
	p := newProducer(e, stream, 4)
	st := newStore()
	w := le.startWorker(t, stream, st, workerOpts{id: "a"})
	defer w.Stop(t)
	p.put(t, 10)
	// The worker creates the lease table: scan it only once the worker holds its lease.
	waitUntil(t, 60*time.Second, "the lease taken", func() bool { return len(w.src.Held()) == 1 }, w)
	waitUntil(t, 60*time.Second, "a first checkpoint", func() bool {
		for _, l := range e.leases(t, table) {
			if l.Checkpoint != "TRIM_HORIZON" && l.Checkpoint != "" {
				return true
			}
		}
		return false
	}, w)
	if n := w.src.CommitErrors(); n != 0 {
		t.Fatalf("CommitErrors %d while every checkpoint succeeds", n)
	}

	rc.refuse.Store(true)
	before := e.leases(t, table)
	waitUntil(t, 60*time.Second, "refused checkpoints counted", func() bool {
		p.put(t, 2) // the commit point moves, so there is a checkpoint to write
		return w.src.CommitErrors() >= 2
	}, w)
	if got := metrictest.Sum(t, w.Reg, "weir_kinesis_checkpoint_errors_total", nil); got != float64(w.src.CommitErrors()) {
		t.Errorf("weir_kinesis_checkpoint_errors_total %v, CommitErrors %d: one tally", got, w.src.CommitErrors())
	}
	if lost := metrictest.Sum(t, w.Reg, "weir_kinesis_lease_events_total", map[string]string{"event": "lost"}); lost != 0 {
		t.Errorf("%v leases lost over refused checkpoints", lost)
	}
	for shard, l := range e.leases(t, table) {
		if l.Checkpoint != before[shard].Checkpoint {
			t.Errorf("%s: checkpoint moved from %q to %q while every checkpoint write was refused", shard, before[shard].Checkpoint, l.Checkpoint)
		}
	}

	rc.refuse.Store(false)
	p.put(t, 2)
	waitUntil(t, 60*time.Second, "the checkpoint moving again", func() bool {
		for shard, l := range e.leases(t, table) {
			if l.Checkpoint == before[shard].Checkpoint {
				return false
			}
		}
		return true
	}, w)
}

// A handover's final checkpoint that fails is counted like any other failed checkpoint
// (weir_kinesis_checkpoint_errors_total, CommitErrors), and once: the lease is forgotten after
// the attempt, so no later write retries it; the lease expires and is taken again.
func TestFailedHandoverCheckpointIsCountedOnce(t *testing.T) {
	srv := moto.Start(t)
	e := newEnv(t, srv.Endpoint(), srv.Endpoint())
	const stream, shards = "handover-refused", 2
	e.createStream(t, stream, shards)
	// A handover is the one write that names a new owner (:to).
	rh := &refusingUpdates{next: e.ddbCfg.HTTPClient, marker: `":to"`, once: true}
	le := e.withDynamoDB(rh)
	p := newProducer(e, stream, 16)
	st := newStore()
	// No periodic checkpoint: the handover is the first write of the moved commit point, so
	// the refused write always carries a checkpoint.
	noPeriodic := func(c *kinesis.Config) { c.CheckpointInterval = time.Hour }
	a := le.startWorker(t, stream, st, workerOpts{id: "w1", cfg: noPeriodic})
	waitUntil(t, 30*time.Second, "w1 holding both leases", balanced([]*worker{a}, shards, shards, shards), a)
	p.put(t, 5)
	waitUntil(t, 60*time.Second, "every record durable", func() bool { return st.Distinct() == p.total() }, a)

	rh.refuse.Store(true)
	b := le.startWorker(t, stream, st, workerOpts{id: "w2", cfg: noPeriodic})
	waitUntil(t, 60*time.Second, "the handover refused", func() bool { return rh.refused.Load() == 1 }, a, b)
	// Refused, the lease expires (LeaseDuration) and is taken again: by w2, or by w1, which
	// then hands it over (the front refuses only the first handover).
	waitUntil(t, 60*time.Second, "one lease with each worker", balanced([]*worker{a, b}, shards, 1, 1), a, b)
	if got := a.src.CommitErrors(); got != 1 {
		t.Errorf("w1 CommitErrors %d after one refused handover, want 1", got)
	}
	if got := metrictest.Sum(t, a.Reg, "weir_kinesis_checkpoint_errors_total", nil); got != 1 {
		t.Errorf("w1 weir_kinesis_checkpoint_errors_total %v, want 1", got)
	}
	b.Stop(t)
	a.Stop(t) // Close checkpoints and releases the lease w1 kept: that write succeeds
	if got := metrictest.Sum(t, a.Reg, "weir_kinesis_checkpoint_errors_total", nil); got != 1 {
		t.Errorf("w1 weir_kinesis_checkpoint_errors_total %v after Close, want 1: the refused handover counted once", got)
	}
	if got := b.src.CommitErrors(); got != 0 {
		t.Errorf("w2 CommitErrors %d, want 0", got)
	}
}

// A SHARD_END checkpoint that fails is counted once, like a handover's: the lease is forgotten
// after the attempt and expires; whoever takes it reads the shard's tail again and writes
// SHARD_END then.
func TestFailedShardEndCheckpointIsCountedOnce(t *testing.T) {
	kl := kinesalite.Start(t)
	ddb := moto.Start(t)
	e := newEnv(t, kl.Endpoint(), ddb.Endpoint())
	const stream, table = "shard-end-refused", "leases-shard-end-refused"
	e.createStream(t, stream, 1)
	rs := &refusingUpdates{next: e.ddbCfg.HTTPClient, marker: `"SHARD_END"`, once: true}
	rs.refuse.Store(true)
	le := e.withDynamoDB(rs)
	p := newProducer(e, stream, 16)
	st := newStore()
	w := le.startWorker(t, stream, st, workerOpts{id: "a"})
	p.put(t, 5)
	waitUntil(t, 60*time.Second, "every record durable", func() bool { return st.Distinct() == p.total() }, w)

	parent := e.shardIDs(t, stream)[0]
	e.splitInHalf(t, stream, parent)
	waitUntil(t, 60*time.Second, "SHARD_END refused", func() bool { return rs.refused.Load() == 1 }, w)
	// The lease expires, is taken again and its tail re-read: SHARD_END is written then and
	// the children are read (the parent's lease may be gone already: cleaned up).
	waitUntil(t, 60*time.Second, "the children read", func() bool {
		return len(w.src.Held()) == 2 && e.leases(t, table)[parent].Checkpoint != "TRIM_HORIZON"
	}, w)
	p.put(t, 2)
	waitUntil(t, 60*time.Second, "every record durable", func() bool { return st.Distinct() == p.total() }, w)
	w.Stop(t)
	if got := w.src.CommitErrors(); got != 1 {
		t.Errorf("CommitErrors %d after one refused SHARD_END, want 1", got)
	}
	if got := metrictest.Sum(t, w.Reg, "weir_kinesis_checkpoint_errors_total", nil); got != 1 {
		t.Errorf("weir_kinesis_checkpoint_errors_total %v, want 1", got)
	}
	if ends := metrictest.Sum(t, w.Reg, "weir_kinesis_lease_events_total", map[string]string{"event": "shard_end"}); ends != 1 {
		t.Errorf("shard_end events %v, want 1 (the second attempt)", ends)
	}
}
