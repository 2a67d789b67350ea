package worker

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Offset commits the broker refuses reach CloudWatch: the worker publishes CommitErrors with its
// health counts, once a scaling period with the service's dimension, zeros while commits
// succeed, so an operator without Prometheus sees offsets that stop committing (the templates'
// CommitErrorAlarm reads it).
func TestRefusedCommitsArePublishedAsCommitErrors(t *testing.T) {
	const parts = 2
	c, cl := newTopic(t, parts)
	var refuse atomic.Bool
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
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})

	dir := t.TempDir()
	cfg := kafkaConfig(c, "commits", dir)
	cfg.ServiceName = "weir-test"
	cfg.Scaling.Period = time.Second
	cfg.Window.AllowedLateness, cfg.Window.IdleTimeout = 0, 300*time.Millisecond
	cfg.ShutdownTimeout = 3 * time.Second
	_, stop := runWorker(t, cfg, testDeps())
	defer func() { _ = stop() }()

	// commitErrors returns the CommitErrors values the worker published so far.
	commitErrors := func() []float64 {
		var vals []float64
		for _, line := range emfLines(t, cfg.Sinks.CloudWatch.EMF.Path) {
			if v, ok := line["CommitErrors"].(float64); ok {
				if line["ServiceName"] != "weir-test" {
					t.Fatalf("CommitErrors without the service's dimension: %v", line)
				}
				vals = append(vals, v)
			}
		}
		return vals
	}
	await := func(what string, ok func([]float64) bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !ok(commitErrors()) {
			if time.Now().After(deadline) {
				t.Fatalf("no %s within 20s; CommitErrors published: %v", what, commitErrors())
			}
			produceNow(t, cl, parts, 5) // windows close, and the commit point moves
			time.Sleep(200 * time.Millisecond)
		}
	}
	await("CommitErrors point while commits succeed", func(v []float64) bool { return len(v) > 0 })
	if v := commitErrors(); v[0] != 0 {
		t.Errorf("CommitErrors %v before any commit was refused, want zeros", v)
	}
	refuse.Store(true)
	await("CommitErrors above zero once commits are refused", func(v []float64) bool { return len(v) > 0 && v[len(v)-1] > 0 })
	refuse.Store(false)
	n := len(commitErrors())
	await("CommitErrors back to zero once commits succeed", func(v []float64) bool { return len(v) > n && v[len(v)-1] == 0 })
}
