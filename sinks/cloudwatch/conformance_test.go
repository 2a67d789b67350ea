package cloudwatch

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/sinks/sinktest"
)

// invalidParameter is CloudWatch's answer (awsQuery) to a request it refuses for good.
func invalidParameter(req *http.Request) *http.Response {
	return &http.Response{StatusCode: http.StatusBadRequest, Status: "400 Bad Request", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"text/xml"}},
		Body: io.NopCloser(strings.NewReader(`<ErrorResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><Error><Type>Sender</Type>` +
			`<Code>InvalidParameterValue</Code><Message>injected</Message></Error><RequestId>fault</RequestId></ErrorResponse>`)),
		Request: req}
}

// The PutMetricData sink against moto, ten datums a request so that the suite's Output takes
// three: a failed Write is one that got part of the way.
func TestConformance(t *testing.T) {
	env := newMotoEnv(t)
	var n atomic.Int64
	sinktest.Run(t, sinktest.Subject{Remote: true, Appends: true, Open: func(t *testing.T, faults *sinktest.Faults) sinktest.Destination {
		ns := fmt.Sprintf("WeirConformance%d", n.Add(1)) // a destination of its own
		s, _ := env.sink(t, func(c *Config) { c.Namespace, c.MaxDatumsPerRequest = ns, 10 },
			sinktest.HTTP(awshttp.NewBuildableClient(), faults, invalidParameter))
		return sinktest.Destination{Sink: s, Durable: func(t *testing.T, out *pipeline.Output) map[string]string {
			return env.statistics(t, ns, out.Points)
		}}
	}})
}

// The EMF sink writing to a file: lines are appended, and nothing it does can fail part way
// short of the disk.
func TestEMFConformance(t *testing.T) {
	sinktest.Run(t, sinktest.Subject{Appends: true, Open: func(t *testing.T, _ *sinktest.Faults) sinktest.Destination {
		path := filepath.Join(t.TempDir(), "metrics.emf")
		cfg := Config{Mode: ModeEMF, Namespace: "WeirConformance", EMF: EMFConfig{Path: path}}
		cfg.ApplyDefaults()
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		s, err := OpenEMF(cfg, prometheus.NewRegistry(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return sinktest.Destination{Sink: s, Durable: func(t *testing.T, _ *pipeline.Output) map[string]string {
			return sinktest.Lines(t, path)
		}}
	}})
}

// statistics reads back each series of points in namespace ns: "samples sum" by series.
func (e *motoEnv) statistics(t *testing.T, ns string, points []pipeline.Point) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range points {
		var dims []types.Dimension
		for _, d := range p.Dimensions {
			dims = append(dims, types.Dimension{Name: aws.String(d.Name), Value: aws.String(d.Value)})
		}
		got, err := e.reader.GetMetricStatistics(context.Background(), &cloudwatch.GetMetricStatisticsInput{
			Namespace: aws.String(ns), MetricName: aws.String(p.Name), Dimensions: dims,
			StartTime: aws.Time(p.Time), EndTime: aws.Time(p.Time.Add(time.Minute)), Period: aws.Int32(60),
			Statistics: []types.Statistic{types.StatisticSampleCount, types.StatisticSum},
		})
		if err != nil {
			t.Fatalf("GetMetricStatistics %s: %v", p.Name, err)
		}
		for _, dp := range got.Datapoints {
			out[p.Name] = fmt.Sprintf("samples %v sum %v", aws.ToFloat64(dp.SampleCount), aws.ToFloat64(dp.Sum))
		}
	}
	return out
}
