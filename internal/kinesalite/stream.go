package kinesalite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/weirstream/weir/internal/awsconf"
)

// Stream creates the stream name with shards shards on the server, waits until it is active,
// and puts records JSON records {"i":N} into it (keys k0, k1, …, so they spread over the
// shards). It returns a client of the server.
func (s *Server) Stream(t testing.TB, name string, shards int32, records int) *awskinesis.Client {
	t.Helper()
	ctx := context.Background()
	conf := awsconf.Config{Region: "us-east-1", LocalCredentials: true, Endpoints: awsconf.Endpoints{Kinesis: s.Endpoint()}}
	awsCfg, err := conf.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kc := awskinesis.NewFromConfig(awsCfg, func(o *awskinesis.Options) { o.BaseEndpoint = conf.BaseEndpoint(awsconf.Kinesis) })
	if _, err := kc.CreateStream(ctx, &awskinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(shards)}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		d, err := kc.DescribeStreamSummary(ctx, &awskinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if d.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s not active after 30s", name)
		}
	}
	for i := 0; i < records; i += 500 { // PutRecords takes 500 at most
		var entries []types.PutRecordsRequestEntry
		for j := i; j < min(i+500, records); j++ {
			entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprint("k", j)), Data: fmt.Appendf(nil, `{"i":%d}`, j)})
		}
		if out, err := kc.PutRecords(ctx, &awskinesis.PutRecordsInput{StreamName: aws.String(name), Records: entries}); err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
			t.Fatalf("PutRecords: %v", err)
		}
	}
	return kc
}
