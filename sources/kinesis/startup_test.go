package kinesis_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/internal/moto"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/sources/kinesis"
)

// logBuffer collects a source's log lines (written from several goroutines).
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startSource runs a bare source (no runtime: these tests end before it would be used) and
// returns its log and Run's result.
func (e *env) startSource(t *testing.T, ctx context.Context, ddbCfg aws.Config, cfg kinesis.Config) (*logBuffer, chan error) {
	t.Helper()
	logs := &logBuffer{}
	reg := prometheus.NewRegistry()
	kin := awskinesis.NewFromConfig(e.kinCfg)
	src, err := kinesis.New(ctx, cfg, ddbCfg, pipeline.NewBudget(1<<20), reg, pipeline.NewMetrics(reg),
		slog.New(slog.NewTextHandler(logs, nil)), kinesis.WithStreamAPI(func(kinesis.StreamAPI) kinesis.StreamAPI { return kin }))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, nil) }()
	return logs, done
}

// A stream that does not exist stops the worker at start with the field named, and nothing is
// created for it: no lease table.
func TestMissingStreamFailsAtStart(t *testing.T) {
	srv := moto.Start(t)
	e := newEnv(t, srv.Endpoint(), srv.Endpoint())
	const table = "leases-missing"
	_, done := e.startSource(t, context.Background(), e.ddbCfg, testConfig("missing", table, "a"))
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), `source.kinesis.stream: stream "missing" does not exist in region us-east-1`) {
			t.Errorf("Run: %v, want the missing stream named", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run still running 20s after start on a stream that does not exist")
	}
	_, err := e.ddb.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	var nf *ddbtypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("lease table after the failed start: %v, want it never created", err)
	}
}
