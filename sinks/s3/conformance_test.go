package s3

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/sinks/sinktest"
)

// accessDenied is S3's answer to a request it refuses for good.
func accessDenied(req *http.Request) *http.Response {
	return &http.Response{StatusCode: http.StatusForbidden, Status: "403 Forbidden", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {"application/xml"}},
		Body:    io.NopCloser(strings.NewReader(`<Error><Code>AccessDenied</Code><Message>Access Denied (injected)</Message></Error>`)),
		Request: req}
}

func TestConformance(t *testing.T) {
	env := newMotoEnv(t)
	var n atomic.Int64
	sinktest.Run(t, sinktest.Subject{Remote: true, Open: func(t *testing.T, faults *sinktest.Faults) sinktest.Destination {
		prefix := fmt.Sprintf("conformance/%d", n.Add(1)) // a destination of its own
		s := env.sink(t, func(c *Config) { c.Prefix = prefix }, sinktest.HTTP(awshttp.NewBuildableClient(), faults, accessDenied))
		return sinktest.Destination{Sink: s, Durable: func(t *testing.T, _ *pipeline.Output) map[string]string {
			out := map[string]string{}
			p := s3.NewListObjectsV2Paginator(env.reader, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix + "/")})
			for p.HasMorePages() {
				page, err := p.NextPage(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range page.Contents {
					key := aws.ToString(o.Key)
					out[strings.TrimPrefix(key, prefix+"/")] = string(env.get(t, key))
				}
			}
			return out
		}}
	}})
}
