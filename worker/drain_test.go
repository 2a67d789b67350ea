package worker

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/sinks/file/filetest"
)

// slowStore makes every partial write take delay: the drain must still finish, and commit
// everything durable, within the shutdown deadline. begun, if set, is told of each write as
// it starts (the window is closed by then).
type slowStore struct {
	pipeline.PartialWriter
	delay time.Duration
	begun func(start time.Time, p pipeline.Partition)
}

func (s slowStore) WritePartial(ctx context.Context, start time.Time, p pipeline.Partition, body []byte) error {
	if s.begun != nil {
		s.begun(start, p)
	}
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.PartialWriter.WritePartial(ctx, start, p, body)
}

func TestDrainWithSlowStoreCommitsWithinDeadline(t *testing.T) {
	const parts, n = 4, 2000
	c, cl := newTopic(t, parts)
	// One time base for every partition, on a second: the partitions share their windows
	// exactly. Read from the clock per record, a partition built after a second boundary
	// passed (the build is slow on a loaded machine) began and ended a window later than the
	// others, and its last window waited for a partition that would never deliver it.
	base := time.Now().Add(-time.Minute).Truncate(time.Second)
	var recs []*kgo.Record
	for p := range int32(parts) {
		for i := range n {
			ts := base.Add(time.Duration(i) * 10 * time.Millisecond)
			recs = append(recs, &kgo.Record{Topic: "events", Partition: p, Timestamp: ts, Value: fmt.Appendf(nil, `{"i":%d}`, i)})
		}
	}
	end := base.Add(n * 10 * time.Millisecond)
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := kafkaConfig(c, "slow", dir)
	cfg.ShutdownTimeout = 15 * time.Second
	cfg.Window.IdleTimeout = 300 * time.Millisecond
	deps := testDeps()
	// The partitions whose last window of data the store has begun to write.
	var mu sync.Mutex
	lastBegun := map[pipeline.Partition]bool{}
	last := end.Add(-time.Nanosecond).Truncate(cfg.Window.Period)
	deps.Hooks.WrapPartials = func(s pipeline.PartialWriter) pipeline.PartialWriter {
		return slowStore{PartialWriter: s, delay: 300 * time.Millisecond, begun: func(start time.Time, p pipeline.Partition) {
			if start.Equal(last) {
				mu.Lock()
				lastBegun[p] = true
				mu.Unlock()
			}
		}}
	}
	w, stop := runWorker(t, cfg, deps)
	// Everything is processed, and once the partitions are quiet every window closes on the
	// wall clock; ~20 one-second windows per partition queue behind the slow store. Stop once
	// every window is closed (a partition's windows close in order, and only a closed window
	// is written: the store has begun to write the last one), with the last writes still in
	// the slow store: the drain waits for them and commits everything. After a fixed sleep
	// instead, on a loaded machine some windows were still open at the stop, and the drain
	// rightly left them uncommitted, for their next owner to read again.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		mu.Lock()
		closed := len(lastBegun)
		mu.Unlock()
		if closed == parts {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 2 minutes the store has begun the last window of %d partitions of %d; %+v", closed, parts, w.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	before, begun := w.Stats().Partials, time.Now()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	took := time.Since(begun)
	if took > cfg.ShutdownTimeout {
		t.Errorf("drain took %v, over the %v deadline", took, cfg.ShutdownTimeout)
	}
	offs, err := kadm.NewClient(cl).FetchOffsets(context.Background(), "slow")
	if err != nil {
		t.Fatal(err)
	}
	for p := range int32(parts) {
		if o, _ := offs.Lookup("events", p); o.At != n {
			t.Errorf("partition %d committed %d after the drain, want %d", p, o.At, n)
		}
	}
	// The aggregator merged what the drain made durable before it stopped.
	if got := filetest.Records(t, dir); got != parts*n {
		t.Errorf("reports hold %d records, want %d; dead letters %v", got, parts*n, filetest.DeadLetterReasons(t, dir))
	}
	t.Logf("drain with a 300ms-per-write store: %v, %d partials made durable in it", took.Round(time.Millisecond), w.Stats().Partials-before)
}
