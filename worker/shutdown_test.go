package worker

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/weirstream/weir/internal/awsconf"
	"github.com/weirstream/weir/internal/moto"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/sources/kinesis"
)

// hangingPartials blocks every partial written, until the write's context ends, and counts the
// writes hanging: a partial store that cannot finish the final flush.
type hangingPartials struct {
	pipeline.PartialWriter
	hung *atomic.Int64
}

func (s hangingPartials) WritePartial(ctx context.Context, _ time.Time, _ pipeline.Partition, _ []byte) error {
	s.hung.Add(1)
	defer s.hung.Add(-1)
	<-ctx.Done()
	return ctx.Err()
}

// A flush that cannot finish does not take the release down with it: with the partial store
// hanging through the whole drain, the worker still returns within shutdown_timeout, and the
// Kinesis leases are released (leaseOwner removed) in the time reserved for that, so the next
// worker takes the shards at once instead of after lease_duration. The drain reports the
// windows it could not write (they are read again: nothing is lost).
func TestShutdownReservesTimeForTheRelease(t *testing.T) {
	srv := moto.Start(t)
	conf := awsconf.Config{Endpoint: srv.Endpoint(), LocalCredentials: true}
	ctx := context.Background()
	awsCfg, err := conf.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kc := awskinesis.NewFromConfig(awsCfg)
	if _, err := kc.CreateStream(ctx, &awskinesis.CreateStreamInput{StreamName: aws.String("events"), ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	const n = 100
	var entries []types.PutRecordsRequestEntry
	for i := range n {
		entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprint("k", i)), Data: fmt.Appendf(nil, `{"i":%d}`, i)})
	}
	if _, err := kc.PutRecords(ctx, &awskinesis.PutRecordsInput{StreamName: aws.String("events"), Records: entries}); err != nil {
		t.Fatal(err)
	}

	cfg := testConfig(t.TempDir())
	cfg.AWS = conf
	cfg.Source.Kind = "kinesis"
	cfg.Source.Kinesis.Stream, cfg.Source.Kinesis.LeaseTable = "events", "weir-leases"
	// The records' window closes a second after they arrive (its partial then hangs); a window
	// still open at the drain is left to the next owner and written by nobody.
	cfg.Window.Period, cfg.Window.AllowedLateness = time.Second, 0
	cfg.ShutdownTimeout = 6 * time.Second
	var hung atomic.Int64
	deps := testDeps()
	deps.Hooks.WrapPartials = func(s pipeline.PartialWriter) pipeline.PartialWriter {
		return hangingPartials{PartialWriter: s, hung: &hung}
	}
	w, stop := runWorker(t, cfg, deps)
	src := w.src.(*kinesis.Source)
	deadline := time.Now().Add(60 * time.Second)
	for w.Stats().Records < n || len(src.Held()) < 2 || hung.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("processed %d of %d records, holding %v, %d partial writes hanging, in 60s", w.Stats().Records, n, src.Held(), hung.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	start := time.Now()
	runErr := stop()
	took := time.Since(start)
	if runErr == nil {
		t.Error("Run returned nil: the windows the hanging sink never wrote must be reported")
	}
	if took > cfg.ShutdownTimeout+time.Second {
		t.Errorf("the drain took %v, over shutdown_timeout %v", took, cfg.ShutdownTimeout)
	}
	db := dynamodb.NewFromConfig(awsCfg)
	items, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("weir-leases")})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items.Items {
		if owner, ok := it["leaseOwner"]; ok {
			t.Errorf("lease %v still owned by %v after the drain: not released", it["leaseKey"], owner)
		}
	}
	t.Logf("drain with a hanging sink: %v, %d leases (err %v)", took.Round(time.Millisecond), len(items.Items), runErr)
}
