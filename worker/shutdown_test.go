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

// hangingSink blocks every write while hang is set, until the write's context ends: a sink
// that cannot finish the final flush.
type hangingSink struct {
	pipeline.Sink
	hang *atomic.Bool
}

func (s hangingSink) Write(ctx context.Context, out *pipeline.Output) error {
	if s.hang.Load() {
		<-ctx.Done()
		return ctx.Err()
	}
	return s.Sink.Write(ctx, out)
}

// A flush that cannot finish does not take the release down with it: with a sink hanging
// through the whole drain, the worker still returns within shutdown_timeout, and the Kinesis
// leases are released (leaseOwner removed) in the time reserved for that, so the next worker
// takes the shards at once instead of after lease_duration. The drain reports the windows it
// could not write (they are read again: nothing is lost).
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
	cfg.Window.Period = time.Minute // the records sit in an open window until the drain
	cfg.ShutdownTimeout = 6 * time.Second
	var hang atomic.Bool
	deps := testDeps()
	deps.Hooks.WrapSink = func(s pipeline.Sink) pipeline.Sink { return hangingSink{Sink: s, hang: &hang} }
	w, stop := runWorker(t, cfg, deps)
	src := w.src.(*kinesis.Source)
	deadline := time.Now().Add(60 * time.Second)
	for w.Stats().Records < n || len(src.Held()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("processed %d of %d records, holding %v, in 60s", w.Stats().Records, n, src.Held())
		}
		time.Sleep(50 * time.Millisecond)
	}
	hang.Store(true)
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
