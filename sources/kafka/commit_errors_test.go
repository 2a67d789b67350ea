package kafka_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirstream/weir/internal/metrictest"
)

// weir_kafka_commit_errors_total counts each partition's refused commit once: Close and the
// revoke used to count a failed flush again on top of what the flush had counted, so the
// CloudWatch CommitErrors a worker publishes said twice what the broker refused.
func TestRefusedCommitsAreCountedOnce(t *testing.T) {
	const parts, n = 2, 300
	c := newCluster(t, parts)
	addrs := c.ListenAddrs()
	var refuse atomic.Bool
	var refused atomic.Int64 // partition commits the broker refused
	c.ControlKey(int16(kmsg.OffsetCommit), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if !refuse.Load() {
			return nil, nil, false
		}
		r := req.(*kmsg.OffsetCommitRequest)
		resp := r.ResponseKind().(*kmsg.OffsetCommitResponse)
		resp.SetVersion(r.GetVersion())
		for _, rt := range r.Topics {
			st := kmsg.NewOffsetCommitResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewOffsetCommitResponseTopicPartition()
				sp.Partition, sp.ErrorCode = rp.Partition, kerr.OffsetMetadataTooLarge.Code
				st.Partitions = append(st.Partitions, sp)
				refused.Add(1)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	produce(t, addrs, parts, 0, n, 10*time.Millisecond)
	st := newStore()
	// No periodic commit: only Close (and the revoke the leave may bring) commits.
	a := startWorker(t, addrs, "commit-errors", st, workerOpts{commitInterval: time.Hour})
	waitUntil(t, 20*time.Second, "windows durable and marked", func() bool {
		return metrictest.Sum(t, a.Reg, "weir_kafka_commit_marks_total", nil) >= parts
	}, a)
	refuse.Store(true)
	if err := a.StopSource(t); err == nil {
		t.Error("Close returned no error with every commit refused")
	}
	if refused.Load() == 0 {
		t.Fatal("no commit reached the broker after the refusal began")
	}
	if got := metrictest.Sum(t, a.Reg, "weir_kafka_commit_errors_total", nil); got != float64(refused.Load()) {
		t.Errorf("weir_kafka_commit_errors_total = %v, the broker refused %d partition commits", got, refused.Load())
	}
}
