package worker

import (
	"testing"
	"time"

	"github.com/weirstream/weir/internal/grouptest"
)

// Offset commits the broker refuses reach CloudWatch: the worker publishes CommitErrors with its
// health counts, once a scaling period with the service's dimension, zeros while commits
// succeed, so an operator without Prometheus sees offsets that stop committing (the templates'
// CommitErrorAlarm reads it).
func TestRefusedCommitsArePublishedAsCommitErrors(t *testing.T) {
	const parts = 2
	c, cl := newTopic(t, parts)
	refusals := grouptest.RefuseCommits(c)

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
	refusals.Refuse.Store(true)
	await("CommitErrors above zero once commits are refused", func(v []float64) bool { return len(v) > 0 && v[len(v)-1] > 0 })
	refusals.Refuse.Store(false)
	n := len(commitErrors())
	await("CommitErrors back to zero once commits succeed", func(v []float64) bool { return len(v) > n && v[len(v)-1] == 0 })
}
