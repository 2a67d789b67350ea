package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/weirstream/weir/internal/awsconf"
	"github.com/weirstream/weir/internal/moto"
	s3sink "github.com/weirstream/weir/sinks/s3"
)

// s3Output is one bucket on the trial's moto server, shared by every worker's S3 sink (which
// then also takes the dead letters and the anomaly state); the file sink is off.
type s3Output struct {
	srv    *moto.Server
	aws    awsconf.Config
	client *s3.Client
}

// s3Bucket and s3Prefix are where the workers write.
const (
	s3Bucket = "weir-chaos"
	s3Prefix = "fleet"
)

// newS3Output creates the bucket on srv (the trial's, which stops it).
func newS3Output(ctx context.Context, srv *moto.Server) (*s3Output, error) {
	conf, cfg, err := srv.Config(ctx)
	if err != nil {
		return nil, err
	}
	o := &s3Output{srv: srv, aws: conf}
	// The objects are written without checksums; the SDK would log, for every GET, that it
	// validated none.
	o.client = s3sink.NewClient(cfg, &o.aws, func(o *s3.Options) { o.DisableLogOutputChecksumValidationSkipped = true })
	if _, err := o.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(s3Bucket)}); err != nil {
		return nil, fmt.Errorf("creating bucket %s: %w", s3Bucket, err)
	}
	return o, nil
}

func (o *s3Output) config() map[string]any {
	return map[string]any{
		"sinks": map[string]any{
			"file": map[string]any{"dir": ""},
			"s3":   map[string]any{"bucket": s3Bucket, "prefix": s3Prefix},
		},
		"aws": map[string]any{"region": o.aws.Region, "endpoint": o.aws.Endpoint, "local_credentials": true},
	}
}

func (o *s3Output) describe() string {
	return fmt.Sprintf("S3 bucket %s/%s on moto at %s", s3Bucket, s3Prefix, o.srv.Endpoint())
}

// walk lists the objects under prefix and reads each one.
func (o *s3Output) walk(ctx context.Context, prefix string, fn func(string, []byte) error) error {
	full := s3Prefix + "/" + prefix
	pages := s3.NewListObjectsV2Paginator(o.client, &s3.ListObjectsV2Input{Bucket: aws.String(s3Bucket), Prefix: aws.String(full)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("listing %s: %w", full, err)
		}
		for _, obj := range page.Contents {
			key := aws.ToString(obj.Key)
			got, err := o.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s3Bucket), Key: obj.Key})
			if err != nil {
				return fmt.Errorf("reading %s: %w", key, err)
			}
			body, err := io.ReadAll(got.Body)
			got.Body.Close()
			if err != nil {
				return fmt.Errorf("reading %s: %w", key, err)
			}
			if err := fn(strings.TrimPrefix(key, s3Prefix+"/"), body); err != nil {
				return err
			}
		}
	}
	return nil
}
