package kafka_test

import (
	"testing"
	"time"

	"github.com/weirstream/weir/internal/grouptest"
	"github.com/weirstream/weir/internal/metrictest"
)

// weir_kafka_commit_errors_total counts each partition's refused commit once: Close and the
// revoke used to count a failed flush again on top of what the flush had counted, so the
// CloudWatch CommitErrors a worker publishes said twice what the broker refused.
func TestRefusedCommitsAreCountedOnce(t *testing.T) {
	const parts, n = 2, 300
	c := newCluster(t, parts)
	addrs := c.ListenAddrs()
	refusals := grouptest.RefuseCommits(c)
	produce(t, addrs, parts, 0, n, 10*time.Millisecond)
	st := newStore()
	// No periodic commit: only Close (and the revoke the leave may bring) commits.
	a := startWorker(t, addrs, "commit-errors", st, workerOpts{commitInterval: time.Hour})
	waitUntil(t, 20*time.Second, "windows durable and marked", func() bool {
		return metrictest.Sum(t, a.Reg, "weir_kafka_commit_marks_total", nil) >= parts
	}, a)
	refusals.Refuse.Store(true)
	if err := a.StopSource(t); err == nil {
		t.Error("Close returned no error with every commit refused")
	}
	if refusals.Refused.Load() == 0 {
		t.Fatal("no commit reached the broker after the refusal began")
	}
	if got := metrictest.Sum(t, a.Reg, "weir_kafka_commit_errors_total", nil); got != float64(refusals.Refused.Load()) {
		t.Errorf("weir_kafka_commit_errors_total = %v, the broker refused %d partition commits", got, refusals.Refused.Load())
	}
}
