package kafka_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/sources/kafka"
	"github.com/weirstream/weir/sources/sourcetest"
)

// stream is a fresh topic on its own cluster, read by one consumer group; records are produced
// 2ms of event time apart, so 500 of a partition fall in each one-second window.
type stream struct {
	addrs    []string
	group    string
	parts    int32
	mu       sync.Mutex
	produced int // records in every partition
}

const step = 2 * time.Millisecond

func (s *stream) Produce(t *testing.T, n int) []string {
	s.mu.Lock()
	from := s.produced
	s.produced += n
	s.mu.Unlock()
	produce(t, s.addrs, s.parts, from, n, step)
	var ids []string
	for p := range s.parts {
		for i := from; i < from+n; i++ {
			ids = append(ids, itoa(p)+"/"+strconv.Itoa(i))
		}
	}
	return ids
}

func (s *stream) Open(d sourcetest.Deps) (sourcetest.Source, error) {
	return open(s.addrs, s.group, workerOpts{})(d)
}

func (s *stream) CommittedToEnd(t *testing.T) error {
	committed := committedOffsets(t, s.addrs, s.group)
	s.mu.Lock()
	defer s.mu.Unlock()
	var behind []string
	for p := range s.parts {
		if committed[itoa(p)] != int64(s.produced) {
			behind = append(behind, fmt.Sprintf("partition %d committed %d", p, committed[itoa(p)]))
		}
	}
	if len(behind) > 0 {
		return fmt.Errorf("%s; every partition holds %d records", strings.Join(behind, ", "), s.produced)
	}
	return nil
}

func (s *stream) AnyCommitted(t *testing.T) bool {
	for _, off := range committedOffsets(t, s.addrs, s.group) {
		if off > 0 {
			return true
		}
	}
	return false
}

func (s *stream) Partition() pipeline.Partition { return pipeline.Partition{Stream: topic, ID: "0"} }
func (s *stream) Beyond() pipeline.Position     { return pipeline.Position{Offset: 1_000_000} }

// The shared source suite against kfake: 8 partitions on 3 brokers.
func TestConformance(t *testing.T) {
	const parts, n = 8, 3000
	sourcetest.Run(t, sourcetest.Subject{
		NewStream: func(t *testing.T, partitions int) sourcetest.Stream {
			c := newCluster(t, int32(partitions))
			return &stream{addrs: c.ListenAddrs(), group: "conformance", parts: int32(partitions)}
		},
		Partitions: parts,
		Records:    n,
		ID:         recordID,
		Rejected:   "weir_kafka_commits_rejected_total",
		// One fetch per broker may be charged after the fact: 1 MiB of payload (budget/32
		// clamped to the 1 MiB minimum) plus each record's struct overhead (~63-byte records).
		Overshoot: func(int64) int64 {
			const fetchMax, brokers, recordBytes = 1 << 20, 3, 63
			return brokers * fetchMax * (recordBytes + kafka.RecordOverhead) / recordBytes
		},
		// Every record is counted in the window of its timestamp, per partition.
		AfterExact: func(t *testing.T, _ sourcetest.Stream, st *sourcetest.Store) {
			const perWindow = int(time.Second / step)
			for i := range n / perWindow {
				ws := t0.Add(time.Duration(i) * time.Second)
				got := map[string]int{}
				for id, k := range st.Window(ws) {
					p, _, _ := strings.Cut(id, "/")
					got[p] += k
				}
				for p := range parts {
					if got[itoa(p)] != perWindow {
						t.Errorf("window %v partition %d: %d records, want %d", ws.Format(time.TimeOnly), p, got[itoa(p)], perWindow)
					}
				}
			}
		},
		// A worker killed mid-stream never left a committed offset ahead of what is durable.
		AfterCrash: func(t *testing.T, s sourcetest.Stream, st *sourcetest.Store) {
			prefix := durablePrefix(st)
			for p, off := range committedOffsets(t, s.(*stream).addrs, s.(*stream).group) {
				if off > prefix[p] {
					t.Errorf("partition %s: committed offset %d is ahead of the durable prefix %d", p, off, prefix[p])
				}
			}
		},
		// The source paused partitions or stopped polling for the budget.
		WhileStall: func(t *testing.T, w *sourcetest.Worker) {
			paused := metrictest.Sum(t, w.Reg, "weir_kafka_paused_partitions", nil) + metrictest.Sum(t, w.Reg, "weir_kafka_budget_waits_total", nil)
			if paused == 0 {
				t.Error("the source neither paused a partition nor waited for the budget while the sink stalled")
			}
		},
	})
}

// One hot partition among idle ones, drained by a runner slower than its fetches: the source
// waits for the busy runner instead of pausing the partition. A paused partition is left out of
// the next fetch, and with every other partition of its broker caught up that fetch waits out
// the whole fetch max wait before the partition can be fetched again: the hot partition was
// read in bursts a fetch max wait apart (~100 ms gaps at the default).
func TestBusyRunnerDoesNotPauseHotPartition(t *testing.T) {
	const parts, n = 8, 20000
	c := newCluster(t, parts)
	// Small uncompressed producer batches, so that fetches are the source's size in records (a
	// batch comes whole, and the size caps count compressed bytes).
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchMaxBytes(16<<10), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n { // all in partition 0, all in one window
		r := &kgo.Record{Topic: topic, Partition: 0, Timestamp: t0.Add(time.Duration(i) * time.Microsecond),
			Value: fmt.Appendf(nil, `{"i":%d,"pad":"0123456789012345678901234567890123456789"}`, i)}
		cl.Produce(context.Background(), r, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Error(err)
			}
		})
	}
	if err := cl.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	cl.Close()

	st := newStore()
	// 50µs a record: the runner takes ~1600-record batches far slower than the client fetches
	// them, so its queue of 4 is full almost all the time. The source waits for a busy runner
	// up to the fetch max wait and pauses after that, by design: the longest wait there is
	// (5 s) keeps a batch's ~80 ms from reaching it on a loaded machine (with 1 s, a runner
	// starved of CPU under -race stayed busy that long in 7 of 10 runs), and would make every
	// pause cost that much.
	w := startWorker(t, c.ListenAddrs(), "hot", st, workerOpts{fetchMaxWait: 5 * time.Second, recordCost: 50 * time.Microsecond})
	waitUntil(t, 60*time.Second, "every record durable", func() bool { return st.Distinct() == n }, w)
	pauses := metrictest.Sum(t, w.Reg, "weir_kafka_pauses_total", map[string]string{"reason": "runner"})
	w.Stop(t)
	if pauses != 0 {
		t.Errorf("the hot partition was paused %v times for a runner that was only busy", pauses)
	}
}

// The checkpoint travels in the offset commit's metadata: what kfake stores for a commit is the
// runtime's checkpoint of the offset before it, and a member that takes the partitions over
// reads it back and resumes with its state. Metadata weir did not write (another consumer's, an
// administrator's reset) gives an offset only, and the partition starts without state.
func TestCheckpointsRoundTripThroughCommitMetadata(t *testing.T) {
	const parts, n = 4, 1500
	c := newCluster(t, parts)
	addrs := c.ListenAddrs()
	produce(t, addrs, parts, 0, n, step)
	// A foreign commit on partition 3, at offset 10, before weir ever ran.
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	var foreign kadm.Offsets
	foreign.Add(kadm.Offset{Topic: topic, Partition: 3, At: 10, LeaderEpoch: -1, Metadata: "consumer-7f3a"})
	if _, err := adm.CommitOffsets(context.Background(), "meta", foreign); err != nil {
		t.Fatal(err)
	}
	st := newStore()
	a := startWorker(t, addrs, "meta", st, workerOpts{})
	waitUntil(t, 20*time.Second, "every record durable", func() bool { return st.Distinct() == parts*n-10 }, a)
	if got := metrictest.Sum(t, a.Reg, "weir_kafka_checkpoints_read_total", map[string]string{"result": "without_state"}); got != 1 {
		t.Errorf("checkpoints read without state: %v, want 1 (the foreign commit)", got)
	}
	waitUntil(t, 10*time.Second, "checkpoints committed", func() bool {
		resp, err := adm.FetchOffsets(context.Background(), "meta")
		if err != nil {
			t.Fatal(err)
		}
		ok := 0
		resp.Each(func(o kadm.OffsetResponse) {
			cp, err := pipeline.ParseCheckpoint(o.Metadata)
			if err == nil && cp.Position.Offset == o.At-1 && cp.State.Period == time.Second && cp.State.ClosedThrough > 0 {
				ok++
			}
		})
		return ok == parts
	}, a)
	a.Crash(t)
	b := startWorker(t, addrs, "meta", st, workerOpts{})
	waitUntil(t, 20*time.Second, "b assigned", func() bool {
		return metrictest.Sum(t, b.Reg, "weir_kafka_checkpoints_read_total", map[string]string{"result": "restored"}) == parts
	}, b)
	b.Stop(t)
	if n, how := st.Conflicts(); n != 0 {
		t.Errorf("%d partials written again with other bytes: %v", n, how)
	}
}
