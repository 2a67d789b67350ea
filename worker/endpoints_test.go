package worker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/weirstream/weir/internal/awsconf"
	"github.com/weirstream/weir/internal/kinesalite"
	"github.com/weirstream/weir/internal/moto"
	"github.com/weirstream/weir/sinks/cloudwatch"
	"github.com/weirstream/weir/sinks/s3"
)

// The stream on kinesalite, the lease table, the bucket and the metrics on moto: two local
// servers, configured with aws.endpoints only (through WEIR_ variables, as a task definition
// would), no aws.endpoint and none of the SDK's variables. Every record is counted into the
// S3 reports, the lease table is on moto (and only there), the stream only on kinesalite, and
// the metrics went to moto's CloudWatch.
func TestPerServiceEndpointsKinesaliteAndMoto(t *testing.T) {
	for _, v := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KINESIS", "AWS_ENDPOINT_URL_DYNAMODB",
		"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_CLOUDWATCH", "AWS_REGION", "AWS_DEFAULT_REGION"} {
		t.Setenv(v, "")
	}
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	mt, kl := moto.Start(t), kinesalite.Start(t)
	ctx := context.Background()
	clientConf := awsconf.Config{Region: "us-east-1", LocalCredentials: true,
		Endpoints: awsconf.Endpoints{S3: mt.Endpoint(), Kinesis: kl.Endpoint(), DynamoDB: mt.Endpoint(), CloudWatch: mt.Endpoint()}}
	awsCfg, err := clientConf.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	kl.Stream(t, "events", 2, n)
	s3c := s3.NewClient(awsCfg, &clientConf)
	if _, err := s3c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("weir")}); err != nil {
		t.Fatal(err)
	}

	cfg, err := LoadConfig("", []string{
		"WEIR_SOURCE_KIND=kinesis", "WEIR_SOURCE_KINESIS_STREAM=events", "WEIR_SOURCE_KINESIS_LEASE_TABLE=weir-leases",
		"WEIR_AWS_LOCAL_CREDENTIALS=true",
		"WEIR_AWS_ENDPOINTS_KINESIS=" + kl.Endpoint(), "WEIR_AWS_ENDPOINTS_DYNAMODB=" + mt.Endpoint(),
		"WEIR_AWS_ENDPOINTS_S3=" + mt.Endpoint(), "WEIR_AWS_ENDPOINTS_CLOUDWATCH=" + mt.Endpoint(),
		"WEIR_SINKS_FILE_DIR=", "WEIR_SINKS_S3_BUCKET=weir", "WEIR_SINKS_S3_PREFIX=eps",
		"WEIR_SINKS_CLOUDWATCH_MODE=api", "WEIR_SINKS_CLOUDWATCH_NAMESPACE=WeirEndpoints",
		"WEIR_WINDOW_PERIOD=1s", "WEIR_WINDOW_ALLOWED_LATENESS=0s", "WEIR_WINDOW_IDLE_TIMEOUT=300ms", "WEIR_HTTP_ADDR=", "WEIR_SUMMARY=off",
	})
	if err != nil {
		t.Fatal(err)
	}
	w, stop := runWorker(t, cfg, testDeps())
	deadline := time.Now().Add(60 * time.Second)
	for w.Stats().Records < n {
		if time.Now().After(deadline) {
			t.Fatalf("processed %d of %d records in 60s (run: %v)", w.Stats().Records, n, stop())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The 1s windows close, their partials are written, and the aggregator (this worker, once
	// it holds the lease table's aggregator row) reports them.
	for {
		list, err := s3c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("weir"), Prefix: aws.String("eps/kind=summary/")})
		if err == nil && len(list.Contents) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no window summaries in moto's S3 within 60s (%v; run: %v)", err, stop())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.BaseEndpoint = clientConf.BaseEndpoint(awsconf.DynamoDB) })
	items, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("weir-leases")})
	if err != nil || len(items.Items) < 2 {
		t.Errorf("the lease table on moto: %v, %v; want a lease per shard", items, err)
	}
	// The stream lives on kinesalite alone: nothing asked moto's Kinesis for it.
	motoKinesis := awskinesis.NewFromConfig(awsCfg, func(o *awskinesis.Options) { o.BaseEndpoint = aws.String(mt.Endpoint()) })
	if _, err := motoKinesis.DescribeStreamSummary(ctx, &awskinesis.DescribeStreamSummaryInput{StreamName: aws.String("events")}); err == nil {
		t.Error("a stream named events exists on moto")
	}
	var notFound *dbtypes.ResourceNotFoundException
	kinesaliteDB := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(kl.Endpoint()) })
	if _, err := kinesaliteDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("weir-leases")}); err == nil || errors.As(err, &notFound) {
		t.Errorf("kinesalite answered a DynamoDB call (%v): the lease table went there", err)
	}
	metrics, err := cloudwatch.NewClient(awsCfg, &clientConf).ListMetrics(ctx, &cw.ListMetricsInput{Namespace: aws.String("WeirEndpoints")})
	if err != nil || len(metrics.Metrics) == 0 {
		t.Errorf("no metrics in moto's CloudWatch namespace WeirEndpoints (%v)", err)
	}
}
