package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/pipelinetest"
)

// PartitionRecords counts each running partition's records, good and dead-lettered, from when
// it was assigned; a partition revoked and assigned again starts over, and one revoked is gone.
func TestPartitionRecords(t *testing.T) {
	clock := &fakeClock{now: t0}
	h := newHarness(t, pipeline.DefaultWindowConfig(), nil, &pipelinetest.MemStore{}, withClock(clock))
	ctx := context.Background()
	p0 := pipeline.Partition{Stream: "events", ID: "0"}
	p1 := pipeline.Partition{Stream: "events", ID: "1"}
	f0, _ := h.rt.Assign(p0, nil)
	clock.advance(5 * time.Second)
	f1, _ := h.rt.Assign(p1, nil)
	if err := f0.Send(ctx, batch(p0, 0, 7, t0, time.Millisecond, `{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := f1.Send(ctx, batch(p1, 0, 3, t0, time.Millisecond, `not json`)); err != nil {
		t.Fatal(err)
	}
	type seen struct {
		assigned time.Time
		records  int64
	}
	read := func() map[pipeline.Partition]seen {
		out := map[pipeline.Partition]seen{}
		h.rt.PartitionRecords(func(p pipeline.Partition, assigned time.Time, records int64) { out[p] = seen{assigned, records} })
		return out
	}
	pipelinetest.WaitFor(t, func() bool { return h.rt.Stats().Records == 10 })
	got := read()
	if len(got) != 2 || got[p0] != (seen{t0, 7}) || got[p1] != (seen{t0.Add(5 * time.Second), 3}) {
		t.Fatalf("partition records %+v", got)
	}
	h.rt.Revoke(ctx, p0)
	clock.advance(5 * time.Second)
	f0, _ = h.rt.Assign(p0, nil)
	if err := f0.Send(ctx, batch(p0, 7, 2, t0, time.Millisecond, `{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	pipelinetest.WaitFor(t, func() bool { return h.rt.Stats().Records == 12 })
	if got := read(); got[p0] != (seen{t0.Add(10 * time.Second), 2}) || got[p1].records != 3 {
		t.Fatalf("after p0 was assigned again: %+v", got)
	}
	h.rt.Revoke(ctx, p1)
	if got := read(); len(got) != 1 {
		t.Fatalf("after p1 was revoked: %+v", got)
	}
	if err := h.rt.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
