package lag

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/pipeline"
)

// kinesisSample is what the Kinesis source observes: no positions, MillisBehindLatest or, for
// a shard whose first GetRecords has not answered, Unknown.
func kinesisSample(at time.Time, ms int64) Sample {
	return Sample{Time: at, End: Unknown, Committed: Unknown, Start: Unknown, Processed: Unknown, MillisBehind: ms}
}

// families are the names of the metric families reg exposes now.
func families(t *testing.T, reg *prometheus.Registry) map[string]bool {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, mf := range mfs {
		out[mf.GetName()] = true
	}
	return out
}

// points are the Analyzer's aggregate points by name (the per-status ones left out).
func points(a *Analyzer, tr *Tracker, at time.Time) map[string]float64 {
	out := map[string]float64{}
	for _, p := range a.Points(tr.Snapshot(at), at, nil) {
		if p.Name != MetricPartitions {
			out[p.Name] = p.Value
		}
	}
	return out
}

// A worker that holds a caught-up shard and one it has just taken and not read yet is not
// caught up: the worker's maximum time lag is unknown, not the caught-up shard's 0. Neither
// the Prometheus gauge nor the CloudWatch point publishes it until the new shard's first
// reading, and the count of partitions with an unknown lag says why. Kinesis has no offset
// lag at all, so the record aggregates are never published as 0 for it either.
func TestUnknownLagIsNotPublishedAsZero(t *testing.T) {
	now := t0
	tr, reg := newTestTracker(t, &now)
	a := &Analyzer{Tracker: tr}
	caught := pipeline.Partition{Stream: "s", ID: "shardId-000000000000"}
	taken := pipeline.Partition{Stream: "s", ID: "shardId-000000000001"}
	tr.Observe(caught, kinesisSample(t0, 0))
	tr.Observe(taken, kinesisSample(t0, Unknown))

	fams := families(t, reg)
	for _, name := range []string{"weir_lag_max_seconds", "weir_lag_total_records", "weir_lag_max_records", "weir_lag_max_drain_seconds"} {
		if fams[name] {
			t.Errorf("%s published while a shard's lag is unknown (Kinesis has no offset lag): %v", name, metrictest.Sum(t, reg, name, nil))
		}
	}
	if got := metrictest.Sum(t, reg, "weir_lag_unknown_partitions", nil); got != 1 {
		t.Errorf("weir_lag_unknown_partitions %v, want 1", got)
	}
	pts := points(a, tr, t0)
	for _, name := range []string{MetricSecondsMax, MetricRecordsMax, MetricRecordsSum, MetricDrainSecondsMax} {
		if v, ok := pts[name]; ok {
			t.Errorf("CloudWatch %s %v published while a shard's lag is unknown", name, v)
		}
	}
	if got, ok := pts[MetricPartitionsUnknown]; !ok || got != 1 {
		t.Errorf("CloudWatch %s %v (published %v), want 1", MetricPartitionsUnknown, got, ok)
	}

	// The first read answers: 30 s behind. Now the maximum is known, and it is that shard's.
	now = t0.Add(2 * time.Second)
	tr.Observe(taken, kinesisSample(now, 30_000))
	if got := metrictest.Sum(t, reg, "weir_lag_max_seconds", nil); got != 30 {
		t.Errorf("weir_lag_max_seconds %v after the first read, want 30", got)
	}
	if got := metrictest.Sum(t, reg, "weir_lag_unknown_partitions", nil); got != 0 {
		t.Errorf("weir_lag_unknown_partitions %v after the first read, want 0", got)
	}
	pts = points(a, tr, now)
	if got, ok := pts[MetricSecondsMax]; !ok || got != 30 {
		t.Errorf("CloudWatch %s %v (published %v) after the first read, want 30", MetricSecondsMax, got, ok)
	}
}

// A shard whose lag is unknown is not caught up (rule 2), and one that stays unknown for the
// whole window was not read at all: STALL, which the stalled-partitions alarm counts. Until
// then it has the benefit of the doubt, as any partition just assigned.
func TestEvaluateUnknownMillisBehind(t *testing.T) {
	const w = 30 * time.Second
	h := func(ms ...int64) History {
		out := make(History, len(ms))
		for i, m := range ms {
			out[i] = kinesisSample(t0.Add(time.Duration(i)*10*time.Second), m)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		h    History
		want Status
	}{
		{"not read for the whole window", h(Unknown, Unknown, Unknown, Unknown), STALL},
		{"not read yet, less than a window", h(Unknown, Unknown), OK},
		{"read at last, caught up", h(Unknown, Unknown, Unknown, 0), OK},
	} {
		if got := Evaluate(tc.h, w); got != tc.want {
			t.Errorf("%s: Evaluate = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A partition the source has taken (Track) and not sampled yet is counted, with its lag
// unknown: before, it was left out of the aggregates until the next sampling round, and a
// worker that had just been assigned a partition with a backlog published the lag of its
// other partitions, caught up, as its own. Tracking a partition already tracked keeps its
// history.
func TestTrackCountsAPartitionBeforeItsFirstSample(t *testing.T) {
	now := t0
	tr, reg := newTestTracker(t, &now)
	feed(tr, p0, row{7, 7, 7}) // caught up
	tr.Track(p1)
	tot := tr.Snapshot(now).Total
	if tot.Partitions != 2 || tot.Unknown != 1 || tot.NoOffsetLag != 1 || tot.SecondsComplete() || tot.RecordsComplete() {
		t.Fatalf("total %+v: want two partitions, one of unknown lag", tot)
	}
	fams := families(t, reg)
	if fams["weir_lag_total_records"] || fams["weir_lag_max_seconds"] {
		t.Errorf("the aggregates are published without the partition just taken: %v", fams)
	}
	feed(tr, p1, row{500, 0, 0})
	tr.Track(p1)
	tot = tr.Snapshot(now).Total
	if tot.Unknown != 0 || tot.RecordsSum != 500 || !tot.RecordsComplete() || !tot.SecondsComplete() {
		t.Fatalf("total %+v after p1's first sample: want it counted, 500 records behind", tot)
	}
	if got := metrictest.Sum(t, reg, "weir_lag_total_records", nil); got != 500 {
		t.Errorf("weir_lag_total_records %v, want 500", got)
	}
}
