package cloudwatch

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/internal/awsconf"
	"github.com/weirstream/weir/internal/moto"
	"github.com/weirstream/weir/pipeline"
)

// motoEnv is a moto server plus clients for it: the sink's (optionally behind a fault injector)
// and an independent one for reading back.
type motoEnv struct {
	srv    *moto.Server
	conf   awsconf.Config
	awsCfg aws.Config
	reader *cloudwatch.Client
}

func newMotoEnv(t *testing.T) *motoEnv {
	t.Helper()
	srv := moto.Start(t)
	conf, awsCfg := srv.AWS(t)
	return &motoEnv{srv: srv, conf: conf, awsCfg: awsCfg, reader: NewClient(awsCfg, &conf)}
}

// sink builds an API sink against moto; http (may be nil) stands between the SDK and moto.
func (e *motoEnv) sink(t *testing.T, mut func(*Config), http aws.HTTPClient) (*Sink, *prometheus.Registry) {
	t.Helper()
	cfg := Config{Namespace: "WeirTest", Retry: awsconf.Retry{InitialBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}}
	cfg.RequestsPerSecond = 1000
	cfg.Burst = 1000
	if mut != nil {
		mut(&cfg)
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var opts []func(*cloudwatch.Options)
	if http != nil {
		opts = append(opts, func(o *cloudwatch.Options) { o.HTTPClient = http })
	}
	reg := prometheus.NewRegistry()
	s, err := New(NewClient(e.awsCfg, &e.conf, opts...), cfg, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, reg
}

// readBack fetches every series of want through GetMetricStatistics and compares.
func (e *motoEnv) readBack(t *testing.T, ns string, points []pipeline.Point, want map[string]total) {
	t.Helper()
	got := map[string]total{}
	seen := map[string]bool{}
	for _, p := range points {
		dims := sortedDims(p.Dimensions)
		var kv []string
		var cwDims []types.Dimension
		for _, d := range dims {
			kv = append(kv, d.Name+"="+d.Value)
			cwDims = append(cwDims, types.Dimension{Name: aws.String(d.Name), Value: aws.String(d.Value)})
		}
		k := fmt.Sprintf("%s|%s|%s|%s|%d", ns, strings.Join(kv, ","), p.Name, p.Unit, p.Time.UnixMilli())
		if seen[k] {
			continue
		}
		seen[k] = true
		out, err := e.reader.GetMetricStatistics(context.Background(), &cloudwatch.GetMetricStatisticsInput{
			Namespace: aws.String(ns), MetricName: aws.String(p.Name), Dimensions: cwDims,
			StartTime: aws.Time(p.Time), EndTime: aws.Time(p.Time.Add(time.Minute)), Period: aws.Int32(60),
			Statistics: []types.Statistic{types.StatisticSampleCount, types.StatisticSum, types.StatisticMinimum, types.StatisticMaximum},
		})
		if err != nil {
			t.Fatalf("GetMetricStatistics %s: %v", k, err)
		}
		for _, dp := range out.Datapoints {
			got[k] = total{aws.ToFloat64(dp.SampleCount), aws.ToFloat64(dp.Sum), aws.ToFloat64(dp.Minimum), aws.ToFloat64(dp.Maximum)}
		}
	}
	compareTotals(t, got, want)
}

// faultyHTTP stands between the SDK and moto: it answers the next calls from a plan of HTTP
// statuses (400 = CloudWatch's Throttling error, 5xx = a server error) and passes the rest on,
// recording each forwarded request's body size.
type faultyHTTP struct {
	next aws.HTTPClient

	mu        sync.Mutex
	plan      []int
	failAll   int // when non-zero, every call fails with this status
	injected  int
	forwarded []int // body sizes of requests that reached moto
}

func newFaultyHTTP(plan ...int) *faultyHTTP {
	return &faultyHTTP{next: awshttp.NewBuildableClient(), plan: plan}
}

const throttlingXML = `<ErrorResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>fault-injected</RequestId></ErrorResponse>`

func (f *faultyHTTP) Do(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	f.mu.Lock()
	status := f.failAll
	if status == 0 && len(f.plan) > 0 {
		status, f.plan = f.plan[0], f.plan[1:]
	}
	if status != 0 {
		f.injected++
	} else {
		f.forwarded = append(f.forwarded, len(body))
	}
	f.mu.Unlock()
	if status == 0 {
		return f.next.Do(req)
	}
	msg := "internal failure"
	if status == http.StatusBadRequest {
		msg = throttlingXML
	}
	return &http.Response{
		StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {"text/xml"}},
		Body:    io.NopCloser(strings.NewReader(msg)),
		Request: req,
	}, nil
}

func (f *faultyHTTP) setFailAll(status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failAll = status
}

func (f *faultyHTTP) stats() (injected int, forwarded []int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.injected, append([]int(nil), f.forwarded...)
}
