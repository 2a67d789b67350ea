package worker

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/weirstream/weir/internal/awsconf"
	"github.com/weirstream/weir/internal/moto"
	"github.com/weirstream/weir/sinks/file/filetest"
)

// The worker with source.kind kinesis (against moto: the stream API and the DynamoDB lease
// table) counts every record of every shard into the file sink's window reports: it holds the
// lease table's aggregator row, and its aggregator merges the shards' partials.
func TestWorkerOnKinesis(t *testing.T) {
	srv := moto.Start(t)
	_, awsCfg := srv.AWS(t)
	kc := awskinesis.NewFromConfig(awsCfg, func(o *awskinesis.Options) { o.BaseEndpoint = aws.String(srv.Endpoint()) })
	ctx := context.Background()
	if _, err := kc.CreateStream(ctx, &awskinesis.CreateStreamInput{StreamName: aws.String("events"), ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	const n = 300
	var entries []types.PutRecordsRequestEntry
	for i := range n {
		entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprint("k", i)), Data: fmt.Appendf(nil, `{"i":%d}`, i)})
	}
	for len(entries) > 0 {
		chunk := entries[:min(len(entries), 100)]
		out, err := kc.PutRecords(ctx, &awskinesis.PutRecordsInput{StreamName: aws.String("events"), Records: chunk})
		if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
			t.Fatalf("PutRecords: %v (%v failed)", err, out)
		}
		entries = entries[len(chunk):]
	}

	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.AWS = awsconf.Config{Endpoint: srv.Endpoint(), LocalCredentials: true} // the README's two lines
	cfg.Source.Kind = "kinesis"
	cfg.Source.Kinesis.Stream, cfg.Source.Kinesis.LeaseTable = "events", "weir-leases"
	cfg.Window.IdleTimeout = 300 * time.Millisecond
	cfg.Window.AllowedLateness = 0
	w, stop := runWorker(t, cfg, testDeps())
	deadline := time.Now().Add(60 * time.Second)
	for w.Stats().Records < n || filetest.Records(t, dir) < n {
		if time.Now().After(deadline) {
			t.Fatalf("processed %d of %d records, %d in reports, in 60s", w.Stats().Records, n, filetest.Records(t, dir))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := filetest.Records(t, dir); got != n {
		t.Errorf("reports hold %d records, want %d", got, n)
	}
}
