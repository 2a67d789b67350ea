package kinesis_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/internal/moto"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/sources/kinesis"
	"github.com/weirstream/weir/sources/sourcetest"
)

// One worker against moto: every record is counted exactly once, the checkpoints end at each
// shard's last sequence number, the leases are released on a clean stop, and a restarted
// worker resumes after the checkpoints (no record read again).
func TestSingleWorkerExactlyOnceAndResume(t *testing.T) {
	srv := moto.Start(t)
	e := newEnv(t, srv.Endpoint(), srv.Endpoint())
	const stream, shards, keys, perKey = "single", 4, 40, 50
	e.createStream(t, stream, shards)
	p := newProducer(e, stream, keys)
	p.put(t, perKey)
	st := newStore()
	start := time.Now()
	w := e.startWorker(t, stream, st, workerOpts{id: "a"})
	waitUntil(t, 60*time.Second, "every record durable", func() bool { return st.Distinct() == p.total() }, w)
	elapsed := time.Since(start)
	w.Stop(t)
	t.Logf("%d records over %d shards in %v: %.0f records/s per shard (moto, including lease take)",
		p.total(), shards, elapsed, float64(p.total())/elapsed.Seconds()/shards)

	if missing, dups := st.Check(p.ids()); missing != 0 || dups != 0 {
		t.Errorf("missing %d, duplicates %d", missing, dups)
	}
	last := e.lastSequence(t, stream)
	for id, l := range e.leases(t, "leases-"+stream) {
		if l.Owner != "" {
			t.Errorf("shard %s still owned by %q after a clean stop", id, l.Owner)
		}
		if l.Checkpoint != last[id] {
			t.Errorf("shard %s checkpoint %q, want the last sequence number %q", id, l.Checkpoint, last[id])
		}
		// The event-time state travels in the same row, written in the same update.
		if cp, err := pipeline.ParseCheckpoint(l.State); err != nil || cp.Position.Seq != l.Checkpoint || int64(cp.Position.Sub) != l.Sub {
			t.Errorf("shard %s: checkpoint %s:%d carries state %q (%v)", id, l.Checkpoint, l.Sub, l.State, err)
		}
	}
	problems, err := testutil.GatherAndLint(w.Reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range problems {
		if !strings.HasPrefix(pr.Metric, "weir_kinesis_") {
			continue // the runtime's metrics are linted by its own tests
		}
		t.Errorf("metric %s: %s", pr.Metric, pr.Text)
	}

	// More records, a new worker: it resumes after the checkpoints.
	p.put(t, 10)
	w2 := e.startWorker(t, stream, st, workerOpts{id: "b"})
	waitUntil(t, 60*time.Second, "the new records durable", func() bool { return st.Distinct() == p.total() }, w2)
	restored := metrictest.Sum(t, w2.Reg, "weir_kinesis_checkpoints_read_total", map[string]string{"result": "restored"})
	w2.Stop(t)
	if missing, dups := st.Check(p.ids()); missing != 0 || dups != 0 {
		t.Errorf("after restart: missing %d, duplicates %d", missing, dups)
	}
	if restored != shards {
		t.Errorf("the new worker restored %v shards' state, want %d", restored, shards)
	}
	if n, how := st.Conflicts(); n != 0 {
		t.Errorf("%d partials written again with other bytes: %v", n, how)
	}
}

// stream is a fresh Kinesis stream with its own lease table, written 16 keys at a time with
// 4 KiB records, so that a few hundred fill the suite's 2 MiB budget.
type stream struct {
	e       *env
	name    string
	keys    []string
	mu      sync.Mutex
	rounds  int
	members atomic.Int64
}

var pad = strings.Repeat("x", 4<<10)

func (s *stream) Produce(t *testing.T, n int) []string {
	// n records per shard on average: the keys spread over the shards by their hash.
	shards := len(s.e.shardIDs(t, s.name))
	var ids []string
	for range n * shards / len(s.keys) {
		s.mu.Lock()
		r := s.rounds
		s.rounds++
		s.mu.Unlock()
		var entries []awsEntry
		for _, k := range s.keys {
			v := fmt.Sprintf("%s/%06d/%s", k, r, pad)
			entries = append(entries, awsEntry{PartitionKey: aws.String(k), Data: []byte(v)})
			ids = append(ids, v)
		}
		(&producer{e: s.e, stream: s.name}).putEntries(t, entries)
	}
	return ids
}

func (s *stream) Open(d sourcetest.Deps) (sourcetest.Source, error) {
	id := fmt.Sprintf("w%d", s.members.Add(1))
	return s.e.open(s.name, workerOpts{id: id, cfg: func(c *kinesis.Config) { c.Limit = 100 }})(d)
}

func (s *stream) CommittedToEnd(t *testing.T) error {
	last := s.e.lastSequence(t, s.name)
	var behind []string
	for id, l := range s.e.leases(t, "leases-"+s.name) {
		want := last[id]
		if want == "" {
			want = "TRIM_HORIZON" // a shard nothing was written to
		}
		if l.Checkpoint != want {
			behind = append(behind, fmt.Sprintf("shard %s checkpointed %q, its last record is %q", id, l.Checkpoint, want))
		}
	}
	if len(behind) > 0 {
		return errors.New(strings.Join(behind, "; "))
	}
	return nil
}

func (s *stream) AnyCommitted(t *testing.T) bool {
	table := "leases-" + s.name
	if _, err := s.e.ddb.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: &table}); err != nil {
		return false // the first worker has not created it yet
	}
	// Asked again and again while the conformance test waits, so a read that fails (moto cut
	// one Scan's response short under load: "use of closed network connection", a checksum
	// mismatch) is "not yet", not the end of the test.
	rows, err := s.e.leaseRows(context.Background(), table)
	if err != nil {
		t.Logf("reading %s: %v (asked again)", table, err)
		return false
	}
	for _, l := range rows {
		switch l.Checkpoint {
		case "", "TRIM_HORIZON", "LATEST", "AT_TIMESTAMP":
		default:
			return true
		}
	}
	return false
}

func (s *stream) Partition() pipeline.Partition {
	return pipeline.Partition{Stream: s.name, ID: "shardId-000000000000"}
}

func (s *stream) Beyond() pipeline.Position {
	return pipeline.Position{Offset: 1 << 40, Seq: "99999999999999999999999999999999999999999999999999999999"}
}

// The shared source suite against moto: 2 shards, one lease table per case. Windows by event
// time (the records' arrival times), as weir's default: the suite's crash cases check that a
// replay writes the same partials, which only event time promises. By processing time a record
// read again after a crash lands in the window of its second reading, beside its first.
func TestConformance(t *testing.T) {
	srv := moto.Start(t)
	e := newEnv(t, srv.Endpoint(), srv.Endpoint())
	var streams atomic.Int64
	wc := sourcetest.DefaultWindow()
	sourcetest.Run(t, sourcetest.Subject{
		NewStream: func(t *testing.T, partitions int) sourcetest.Stream {
			s := &stream{e: e, name: fmt.Sprintf("conformance-%d", streams.Add(1))}
			for i := range 16 {
				s.keys = append(s.keys, fmt.Sprintf("key-%03d", i))
			}
			e.createStream(t, s.name, int32(partitions))
			return s
		},
		Partitions: 2,
		Records:    400,
		ID:         recordID,
		Window:     &wc,
		Rejected:   "weir_kinesis_commits_rejected_total",
		// A shard stops reading once the budget is full and it holds part of it; the page it
		// had fetched is charged after the fact: at most Limit (100) records per shard.
		Overshoot: func(int64) int64 { return 2 * 100 * int64(len(pad)+32) },
		Timeout:   90 * time.Second,
	})
}
