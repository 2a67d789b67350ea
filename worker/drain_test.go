package worker

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/sinks/file/filetest"
)

// slowStore makes every partial write take delay: the drain must still finish, and commit
// everything durable, within the shutdown deadline.
type slowStore struct {
	pipeline.PartialWriter
	delay time.Duration
}

func (s slowStore) WritePartial(ctx context.Context, start time.Time, p pipeline.Partition, body []byte) error {
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
	var recs []*kgo.Record
	for p := range int32(parts) {
		for i := range n {
			ts := time.Now().Add(-time.Minute).Add(time.Duration(i) * 10 * time.Millisecond)
			recs = append(recs, &kgo.Record{Topic: "events", Partition: p, Timestamp: ts, Value: fmt.Appendf(nil, `{"i":%d}`, i)})
		}
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := kafkaConfig(c, "slow", dir)
	cfg.ShutdownTimeout = 15 * time.Second
	cfg.Window.IdleTimeout = 300 * time.Millisecond
	deps := testDeps()
	deps.Hooks.WrapPartials = func(s pipeline.PartialWriter) pipeline.PartialWriter {
		return slowStore{PartialWriter: s, delay: 300 * time.Millisecond}
	}
	w, stop := runWorker(t, cfg, deps)
	for w.Stats().Records < parts*n {
		time.Sleep(10 * time.Millisecond)
	}
	// Everything is processed, and once the partitions are quiet every window closes on the
	// wall clock: ~20 one-second windows per partition queue behind the slow store.
	time.Sleep(cfg.Window.IdleTimeout + 2*cfg.Window.AllowedLateness)
	begun := time.Now()
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
		t.Errorf("reports hold %d records, want %d", got, parts*n)
	}
	t.Logf("drain with a 300ms-per-write store: %v", took.Round(time.Millisecond))
}
