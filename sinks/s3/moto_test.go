package s3

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/internal/awsconf"
	"github.com/weirstream/weir/internal/moto"
)

const bucket = "weir-test"

// motoEnv is a moto server with a bucket, and an independent client for reading back.
type motoEnv struct {
	srv    *moto.Server
	conf   awsconf.Config
	awsCfg aws.Config
	reader *s3.Client
}

func newMotoEnv(t *testing.T) *motoEnv {
	t.Helper()
	srv := moto.Start(t)
	conf, awsCfg := srv.AWS(t)
	e := &motoEnv{srv: srv, conf: conf, awsCfg: awsCfg, reader: NewClient(awsCfg, &conf)}
	if _, err := e.reader.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	return e
}

// sink builds a sink against moto; http (may be nil) stands between the SDK and moto.
func (e *motoEnv) sink(t *testing.T, mut func(*Config), http aws.HTTPClient) *Sink {
	t.Helper()
	cfg := Config{Bucket: bucket, Prefix: "weir/test", Retry: awsconf.Retry{InitialBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}}
	if mut != nil {
		mut(&cfg)
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var opts []func(*s3.Options)
	if http != nil {
		opts = append(opts, func(o *s3.Options) { o.HTTPClient = http })
	}
	s, err := New(NewClient(e.awsCfg, &e.conf, opts...), cfg, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// keys lists every object key in the bucket, sorted.
func (e *motoEnv) keys(t *testing.T) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(e.reader, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	slices.Sort(keys)
	return keys
}

// get returns an object's bytes, decompressed when the key ends in .gz.
func (e *motoEnv) get(t *testing.T, key string) []byte {
	t.Helper()
	out, err := e.reader.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("GetObject %s: %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(key, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: not gzip: %v", key, err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// faultyHTTP stands between the SDK and moto and answers the next calls from a plan of HTTP
// statuses (503 = S3's SlowDown, other 5xx = server errors), or every call while failAll is
// set; the rest pass through.
type faultyHTTP struct {
	next aws.HTTPClient

	mu        sync.Mutex
	plan      []int
	failAll   int
	injected  int
	forwarded int
}

func newFaultyHTTP(plan ...int) *faultyHTTP {
	return &faultyHTTP{next: awshttp.NewBuildableClient(), plan: plan}
}

const slowDownXML = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>fault</RequestId></Error>`

func (f *faultyHTTP) Do(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	status := f.failAll
	if status == 0 && len(f.plan) > 0 {
		status, f.plan = f.plan[0], f.plan[1:]
	}
	if status != 0 {
		f.injected++
	} else {
		f.forwarded++
	}
	f.mu.Unlock()
	if status == 0 {
		return f.next.Do(req)
	}
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	body := "<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>"
	if status == http.StatusServiceUnavailable {
		body = slowDownXML
	}
	return &http.Response{
		StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/xml"}}, Body: io.NopCloser(strings.NewReader(body)), Request: req,
	}, nil
}

func (f *faultyHTTP) setFailAll(status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failAll = status
}

func (f *faultyHTTP) counts() (injected, forwarded int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.injected, f.forwarded
}
