package worker

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/weirstream/weir/internal/moto"
)

// Kinesis readiness: a worker whose stream does not exist is never ready (it stops, naming
// the stream); one reading its stream is ready once it holds leases, and not ready within
// source_timeout of AWS becoming unreachable.
func TestKinesisReadiness(t *testing.T) {
	srv := moto.Start(t)
	conf, awsCfg := srv.AWS(t)
	config := func() Config {
		cfg := testConfig(t.TempDir())
		cfg.AWS = conf
		cfg.Source.Kind = "kinesis"
		cfg.Source.Kinesis.Stream, cfg.Source.Kinesis.LeaseTable = "events", "weir-leases"
		cfg.Health.SourceTimeout = 2 * time.Second
		cfg.HTTP.Addr = "127.0.0.1:0"
		cfg.ShutdownTimeout = 3 * time.Second
		return cfg
	}

	w, stop := runWorker(t, config(), testDeps())
	base := "http://" + w.srv.addr()
	var code int
	var body string
	for range 100 { // until the startup check has refused the stream and the worker stopped
		if code, body = get(base + "/readyz"); code == http.StatusOK {
			t.Fatalf("/readyz 200 without a stream")
		}
		if code == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := stop(); err == nil || !strings.Contains(err.Error(), "events") {
		t.Errorf("run without the stream: %v, want an error naming it", err)
	}
	t.Logf("without the stream: %d %q, then stopped", code, body)

	kc := awskinesis.NewFromConfig(awsCfg)
	if _, err := kc.CreateStream(context.Background(), &awskinesis.CreateStreamInput{StreamName: aws.String("events"), ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	var entries []types.PutRecordsRequestEntry
	for i := range 20 {
		entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprint(i)), Data: []byte(`{}`)})
	}
	if _, err := kc.PutRecords(context.Background(), &awskinesis.PutRecordsInput{StreamName: aws.String("events"), Records: entries}); err != nil {
		t.Fatal(err)
	}
	w, stop = runWorker(t, config(), testDeps())
	defer func() { _ = stop() }()
	base = "http://" + w.srv.addr()
	awaitStatus(t, base+"/readyz", http.StatusOK, "ready", 30*time.Second)

	srv.Stop() // AWS goes away
	awaitStatus(t, base+"/readyz", http.StatusServiceUnavailable, "kinesis:", 15*time.Second)
}

// get returns an endpoint's status and body; 0 when it does not answer.
func get(url string) (int, string) {
	cl := http.Client{Timeout: 2 * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, string(b)
}

// awaitStatus polls url until it answers code with a body containing want.
func awaitStatus(t *testing.T, url string, code int, want string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got, body := get(url)
		if got == code && strings.Contains(body, want) {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%s: %d %q after %v, want %d with %q", url, got, body, within, code, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
