package worker

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/internal/awsconf"
	"github.com/weirstream/weir/internal/moto"
	"github.com/weirstream/weir/sinks/cloudwatch"
	"github.com/weirstream/weir/sinks/s3"
)

// The worker pointed at a local AWS (moto) with the README's two aws: lines writes its partials
// to S3, and its aggregator (a fleet of one) the window reports to S3 and the metrics through
// PutMetricData; reading back through the real APIs gives exactly what was produced.
func TestWorkerWritesToS3AndCloudWatchOnMoto(t *testing.T) {
	srv := moto.Start(t)
	conf, awsCfg := srv.AWS(t)
	s3c := s3.NewClient(awsCfg, &conf)
	if _, err := s3c.CreateBucket(context.Background(), &awss3.CreateBucketInput{Bucket: aws.String("weir")}); err != nil {
		t.Fatal(err)
	}

	const parts, n = 2, 500
	c, cl := newTopic(t, parts)
	start := time.Now().Add(-10 * time.Minute).Truncate(time.Minute)
	var recs []*kgo.Record
	for p := range int32(parts) {
		for i := range n {
			recs = append(recs, &kgo.Record{Topic: "events", Partition: p, Timestamp: start.Add(time.Duration(i) * 100 * time.Millisecond),
				Value: fmt.Appendf(nil, `{"i":%d}`, i)})
		}
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	cfg := kafkaConfig(c, "aws", "")
	cfg.AWS = awsconf.Config{Endpoint: srv.Endpoint(), LocalCredentials: true} // the README's two lines
	cfg.Window.Period = 10 * time.Second
	cfg.Sinks.S3.Bucket, cfg.Sinks.S3.Prefix = "weir", "test"
	cfg.Sinks.CloudWatch.Mode = cloudwatch.ModeAPI
	cfg.Sinks.CloudWatch.Namespace = "WeirTest"
	cfg.Window.IdleTimeout = 300 * time.Millisecond // caught up: the last windows close on the wall clock
	w, stop := runWorker(t, cfg, testDeps())
	// S3: one summary object per 10s window (50 s of event time: 5 windows), under the prefix,
	// from the fleet's aggregator (this worker, a fleet of one, reading its partials back).
	var list *awss3.ListObjectsV2Output
	deadline := time.Now().Add(30 * time.Second)
	for {
		var err error
		list, err = s3c.ListObjectsV2(context.Background(), &awss3.ListObjectsV2Input{Bucket: aws.String("weir"),
			Prefix: aws.String("test/kind=summary/operator=throughput/")})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Contents) >= 5 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if w.Stats().Records != parts*n {
		t.Errorf("processed %d records, want %d", w.Stats().Records, parts*n)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if len(list.Contents) != 5 {
		for _, o := range list.Contents {
			t.Log(*o.Key)
		}
		t.Errorf("%d summary objects in S3, want 5 (one per window)", len(list.Contents))
	}
	for _, o := range list.Contents {
		if !strings.HasSuffix(*o.Key, ".json.gz") || !strings.Contains(*o.Key, "/dt=") {
			t.Errorf("key %s is not a gzip object in the Hive layout", *o.Key)
		}
	}

	// The partials, the publish markers and the aggregator's state (with the anomaly
	// detectors' snapshot in it) went to the bucket too: the container's disk would not
	// survive an ECS task, and the fleet's other workers read them there.
	for _, prefix := range []string{"test/kind=partial/", "test/kind=published/", "test/kind=state/name=aggregator.msgpack"} {
		out, err := s3c.ListObjectsV2(context.Background(), &awss3.ListObjectsV2Input{Bucket: aws.String("weir"), Prefix: aws.String(prefix)})
		if err != nil || len(out.Contents) == 0 {
			t.Errorf("nothing under %s in S3 (%v)", prefix, err)
		}
	}

	// CloudWatch: the per-partition Records datapoints add up to every record produced. (Each
	// partition is queried with its full dimension set: moto, unlike CloudWatch, also matches
	// datapoints whose dimensions are a superset of the query's.)
	client := cloudwatch.NewClient(awsCfg, &conf)
	var all []cwtypes.Datapoint
	for p := range parts {
		stats, err := client.GetMetricStatistics(context.Background(), &cw.GetMetricStatisticsInput{
			Namespace: aws.String("WeirTest"), MetricName: aws.String("Records"),
			Dimensions: []cwtypes.Dimension{{Name: aws.String("Partition"), Value: aws.String(fmt.Sprint(p))},
				{Name: aws.String("Stream"), Value: aws.String("events")}},
			StartTime: aws.Time(start.Add(-time.Hour)), EndTime: aws.Time(time.Now().Add(time.Hour)),
			Period: aws.Int32(3600), Statistics: []cwtypes.Statistic{cwtypes.StatisticSum},
		})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, stats.Datapoints...)
	}
	var sum float64
	for _, d := range all {
		sum += aws.ToFloat64(d.Sum)
	}
	if sum != parts*n {
		t.Errorf("CloudWatch Records sum = %v, want %d", sum, parts*n)
	}
}
