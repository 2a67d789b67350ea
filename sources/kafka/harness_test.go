package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/sources/kafka"
	"github.com/weirstream/weir/sources/sourcetest"
)

const topic = "events"

var t0 = time.Date(2026, 11, 20, 13, 0, 0, 0, time.UTC)

func newCluster(t *testing.T, partitions int32) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(partitions, topic),
		kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// produce writes records from, from+1, … from+n−1 to every partition; record i of a partition
// has timestamp t0 + i*step (into a fresh topic, record i is at offset i).
func produce(t *testing.T, addrs []string, partitions int32, from, n int, step time.Duration) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchMaxBytes(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var wg sync.WaitGroup
	var perr atomic.Value
	for p := range partitions {
		for i := from; i < from+n; i++ {
			wg.Add(1)
			r := &kgo.Record{Topic: topic, Partition: p, Timestamp: t0.Add(time.Duration(i) * step),
				Value: fmt.Appendf(nil, `{"p":%d,"i":%d,"pad":"0123456789012345678901234567890123456789"}`, p, i)}
			cl.Produce(context.Background(), r, func(_ *kgo.Record, err error) {
				if err != nil {
					perr.Store(err)
				}
				wg.Done()
			})
		}
	}
	wg.Wait()
	if err, ok := perr.Load().(error); ok {
		t.Fatal(err)
	}
}

// recordID names a record by partition and offset.
func recordID(r *pipeline.Record) string {
	return r.Partition.ID + "/" + strconv.FormatInt(r.Position.Offset, 10)
}

func newStore() *sourcetest.Store { return sourcetest.NewStore(recordID) }

// worker is the shared test worker with its Kafka source at hand (for lag pollers and commits).
type worker struct {
	*sourcetest.Worker
	src *kafka.Source
}

type workerOpts struct {
	budget int64
	// idle overrides the windows' idle timeout (200ms).
	idle time.Duration
	// fetchMaxWait overrides the source's (100ms); recordCost makes the operator spin that long
	// per record, so the runners are slower than the fetches.
	fetchMaxWait time.Duration
	recordCost   time.Duration
	// commitInterval overrides the source's (100ms); revokeTimeout its (3s).
	commitInterval time.Duration
	revokeTimeout  time.Duration
	// sessionTimeout overrides the group session's (2s).
	sessionTimeout time.Duration
	// built, if set, sees the source once built, before it runs (to attach a lag poller).
	built func(*kafka.Source)
}

// open returns a constructor of group members: short session, rebalance and revoke times and
// commits every 100ms unless o says otherwise, so tests run in seconds.
func open(addrs []string, group string, o workerOpts) func(sourcetest.Deps) (*kafka.Source, error) {
	return func(d sourcetest.Deps) (*kafka.Source, error) {
		cfg := kafka.DefaultConfig()
		cfg.Brokers, cfg.Topics, cfg.Group = addrs, []string{topic}, group
		cfg.SessionTimeout = 2 * time.Second
		if o.sessionTimeout > 0 {
			cfg.SessionTimeout = o.sessionTimeout
		}
		cfg.RebalanceTimeout = 5 * time.Second
		cfg.RevokeTimeout = 3 * time.Second
		if o.revokeTimeout > 0 {
			cfg.RevokeTimeout = o.revokeTimeout
		}
		cfg.RevokeCommitTimeout = time.Second
		cfg.FetchMaxWait = 100 * time.Millisecond
		if o.fetchMaxWait > 0 {
			cfg.FetchMaxWait = o.fetchMaxWait
		}
		cfg.CommitInterval = 100 * time.Millisecond
		if o.commitInterval > 0 {
			cfg.CommitInterval = o.commitInterval
		}
		src, err := kafka.New(context.Background(), cfg, d.Budget, d.Registry, d.Metrics, d.Logger, kgo.HeartbeatInterval(100*time.Millisecond))
		if err == nil && o.built != nil {
			o.built(src)
		}
		return src, err
	}
}

func startWorker(t *testing.T, addrs []string, group string, st *sourcetest.Store, o workerOpts) *worker {
	t.Helper()
	w := &worker{}
	so := sourcetest.Options{Name: group, Budget: o.budget, RecordCost: o.recordCost}
	if o.idle > 0 {
		wc := sourcetest.DefaultWindow()
		wc.IdleTimeout = o.idle
		so.Window = &wc
	}
	w.Worker, w.src = sourcetest.Start(t, st, open(addrs, group, o), so)
	return w
}

// durablePrefix is, per partition, how many offsets from 0 on are all durable in st.
func durablePrefix(st *sourcetest.Store) map[string]int64 {
	counts := st.Counts()
	out := map[string]int64{}
	for id := range counts {
		p, _, _ := strings.Cut(id, "/")
		if _, ok := out[p]; ok {
			continue
		}
		var n int64
		for counts[p+"/"+strconv.FormatInt(n, 10)] > 0 {
			n++
		}
		out[p] = n
	}
	return out
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool, workers ...*worker) {
	t.Helper()
	ws := make([]*sourcetest.Worker, len(workers))
	for i, w := range workers {
		ws[i] = w.Worker
	}
	sourcetest.WaitUntil(t, d, what, cond, ws...)
}

func committedOffsets(t *testing.T, addrs []string, group string) map[string]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	resp, err := adm.FetchOffsets(context.Background(), group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return map[string]int64{} // nothing committed yet
	}
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	resp.Each(func(o kadm.OffsetResponse) {
		out[strconv.Itoa(int(o.Partition))] = o.At
	})
	return out
}

func itoa[T int | int32](i T) string { return strconv.Itoa(int(i)) }
