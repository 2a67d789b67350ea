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

	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/internal/moto"
)

// refusingCheckpoints answers every checkpoint write (an UpdateItem setting the checkpoint)
// with a DynamoDB ValidationException, without forwarding it, while refuse is set: the error a
// checkpoint meets when the table or the role is wrong. Renewals and every other call go
// through.
type refusingCheckpoints struct {
	next   aws.HTTPClient
	refuse atomic.Bool
}

func (r *refusingCheckpoints) Do(req *http.Request) (*http.Response, error) {
	if !r.refuse.Load() || req.Header.Get("X-Amz-Target") != "DynamoDB_20120810.UpdateItem" || req.Body == nil {
		return r.next.Do(req)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	if !bytes.Contains(body, []byte("checkpoint = :cp")) {
		return r.next.Do(req)
	}
	answer := []byte(`{"__type":"com.amazonaws.dynamodb.v20120810#ValidationException","message":"injected: checkpoint refused"}`)
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
	rc := &refusingCheckpoints{next: e.ddbCfg.HTTPClient}
	le := *e
	le.ddbCfg = e.ddbCfg.Copy()
	le.ddbCfg.HTTPClient = rc
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
