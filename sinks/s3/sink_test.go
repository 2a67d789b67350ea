package s3

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/sinks/layout"
)

type contributor struct {
	Rule  string  `json:"rule"`
	Key   string  `json:"key"`
	Value float64 `json:"value"`
	Rank  int     `json:"rank"`
}

func reportsOutput() *pipeline.Output {
	start := time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC)
	out := &pipeline.Output{Window: pipeline.Window{Start: start, End: start.Add(time.Minute)}, Owner: "events-p0.3-9f2c"}
	for _, rule := range []string{"top-ips", "top urls/path"} {
		for rank := range 5 {
			out.Reports = append(out.Reports, pipeline.Report{Kind: "report", Name: rule,
				Body: contributor{Rule: rule, Key: fmt.Sprintf("10.0.0.%d", rank), Value: float64(100 - rank), Rank: rank + 1}})
		}
	}
	out.Reports = append(out.Reports, pipeline.Report{Kind: "anomaly", Name: "records",
		Body: json.RawMessage(`{"series":"records","score":0.97,"value":12,"expected":3}`)})
	return out
}

// wantLines encodes each group's bodies independently of the sink: key -> NDJSON.
func wantLines(t *testing.T, prefix string, out *pipeline.Output, gz bool) map[string]string {
	t.Helper()
	lines := map[string]*strings.Builder{}
	for _, r := range out.Reports {
		b, err := json.Marshal(r.Body)
		if err != nil {
			t.Fatal(err)
		}
		key := prefix + "/" + layout.ReportKey(r.Kind, r.Name, out.Window, out.Owner, gz)
		if lines[key] == nil {
			lines[key] = &strings.Builder{}
		}
		lines[key].Write(b)
		lines[key].WriteByte('\n')
	}
	want := map[string]string{}
	for k, b := range lines {
		want[k] = b.String()
	}
	return want
}

func TestReportsReadBackAndReplayOverwrites(t *testing.T) {
	env := newMotoEnv(t)
	s := env.sink(t, nil, nil)
	out := reportsOutput()
	want := wantLines(t, "weir/test", out, true)
	for range 2 { // the second Write is a replay: same keys, same bytes, no new objects
		if err := s.Write(context.Background(), out); err != nil {
			t.Fatal(err)
		}
	}
	keys := env.keys(t)
	if len(keys) != len(want) {
		t.Fatalf("objects %v, want %d", keys, len(want))
	}
	for key, lines := range want {
		if got := string(env.get(t, key)); got != lines {
			t.Errorf("%s:\n got %q\nwant %q", key, got, lines)
		}
	}
	if !strings.Contains(keys[1], "kind=report/rule=top%20urls%2Fpath/dt=2026-11-21/hour=13/20261121T130000Z_20261121T130100Z_events-p0.3-9f2c.json.gz") {
		t.Errorf("unexpected key layout: %v", keys)
	}
}

// TestAWSCLIReadsReports reads an object back with the AWS CLI, an independent client.
func TestAWSCLIReadsReports(t *testing.T) {
	cli, err := exec.LookPath("aws")
	if err != nil {
		t.Fatal("aws CLI not found: install it with  pip install awscli  (.ci/run checks it)")
	}
	env := newMotoEnv(t)
	s := env.sink(t, nil, nil)
	out := reportsOutput()
	if err := s.Write(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	for key, lines := range wantLines(t, "weir/test", out, true) {
		cmd := exec.Command(cli, "--endpoint-url", env.srv.Endpoint(), "s3", "cp", "s3://"+bucket+"/"+key, "-")
		cmd.Env = env.srv.Env()
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("aws s3 cp %s: %v\n%s", key, err, stderr.String())
		}
		zr, err := gzip.NewReader(&stdout)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		got, _ := io.ReadAll(zr)
		if string(got) != lines {
			t.Errorf("aws s3 cp %s:\n got %q\nwant %q", key, got, lines)
		}
	}
}

// Dead letters of several partitions of a stream make one object (one PUT), each partition's
// letters together and in order; written again they overwrite it.
func TestDeadLettersOneObjectPerStream(t *testing.T) {
	env := newMotoEnv(t)
	s := env.sink(t, func(c *Config) { c.Gzip = aws.Bool(false); c.Prefix = "" }, nil)
	t0 := time.Date(2026, 11, 21, 13, 5, 0, 0, time.UTC)
	p0, p1 := pipeline.Partition{Stream: "events", ID: "0"}, pipeline.Partition{Stream: "events", ID: "1"}
	letters := []pipeline.DeadLetter{
		{Partition: p0, Position: pipeline.Position{Offset: 17}, Time: t0, Reason: "decode", Detail: "invalid character", Key: []byte("k"), Value: []byte{0xff, 0x00}},
		{Partition: p1, Position: pipeline.Position{Offset: 3}, Time: t0, Reason: "too_large", Value: []byte("big")},
		{Partition: p0, Position: pipeline.Position{Offset: 42}, Time: t0.Add(time.Second), Reason: "late"},
	}
	for range 2 {
		if err := s.WriteDeadLetters(context.Background(), letters); err != nil {
			t.Fatal(err)
		}
	}
	k0 := layout.DeadLetterKey([]pipeline.DeadLetter{letters[0], letters[2], letters[1]}, false)
	if keys := env.keys(t); len(keys) != 1 || keys[0] != k0 {
		t.Fatalf("objects %v, want [%s]", keys, k0)
	}
	var got []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(env.get(t, k0))), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	if len(got) != 3 || got[0]["position"] != "17" || got[0]["value"] != "/wA=" || got[0]["reason"] != "decode" || got[1]["position"] != "42" ||
		got[2]["partition"] != "1" || got[2]["position"] != "3" {
		t.Errorf("dead letters read back: %v", got)
	}
	if n := testutil.ToFloat64(s.m.deadLetters); n != 6 {
		t.Errorf("dead letters counted %v, want 6 (two writes of three)", n)
	}
}

func TestLargeReportUsesMultipart(t *testing.T) {
	env := newMotoEnv(t)
	s := env.sink(t, func(c *Config) { c.Gzip = aws.Bool(false); c.PartSize = 5 << 20 }, nil)
	out := reportsOutput()
	out.Reports = nil
	for i := range 120_000 { // ~12 MiB of JSON lines: three parts
		out.Reports = append(out.Reports, pipeline.Report{Kind: "summary", Name: "big",
			Body: contributor{Rule: "big", Key: strings.Repeat("x", 60) + fmt.Sprint(i), Value: float64(i), Rank: i}})
	}
	if err := s.Write(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	for key, lines := range wantLines(t, "weir/test", out, false) {
		if got := env.get(t, key); string(got) != lines {
			t.Errorf("%s: read back %d bytes, want %d", key, len(got), len(lines))
		}
		head, err := env.reader.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil || !strings.Contains(aws.ToString(head.ETag), "-3") {
			t.Errorf("ETag %v (%v): want a 3-part multipart ETag", aws.ToString(head.ETag), err)
		}
	}
	if n := testutil.ToFloat64(s.m.multipart); n != 1 {
		t.Errorf("multipart uploads %v, want 1", n)
	}
}

func TestSlowDownAnd5xxRetriedWithoutDuplicates(t *testing.T) {
	env := newMotoEnv(t)
	faults := newFaultyHTTP(503, 500, 503, 503)
	s := env.sink(t, func(c *Config) { c.Concurrency = 1 }, faults)
	out := reportsOutput()
	if err := s.Write(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	want := wantLines(t, "weir/test", out, true)
	if keys := env.keys(t); len(keys) != len(want) {
		t.Errorf("objects %v, want %d", keys, len(want))
	}
	for key, lines := range want {
		if got := string(env.get(t, key)); got != lines {
			t.Errorf("%s: got %q", key, got)
		}
	}
	if n := testutil.ToFloat64(s.m.errors.WithLabelValues("throttle")); n != 3 {
		t.Errorf("throttle errors %v, want 3", n)
	}
	if n := testutil.ToFloat64(s.m.errors.WithLabelValues("server")); n != 1 {
		t.Errorf("server errors %v, want 1", n)
	}
}

func TestOutageFailsWriteThenRecovers(t *testing.T) {
	env := newMotoEnv(t)
	faults := newFaultyHTTP()
	faults.setFailAll(http.StatusInternalServerError)
	s := env.sink(t, func(c *Config) { c.Retry.GiveUpAfter = 300 * time.Millisecond }, faults)
	out := reportsOutput()
	if err := s.Write(context.Background(), out); err == nil {
		t.Fatal("Write succeeded while S3 fails every request: the window would be acknowledged")
	}
	if keys := env.keys(t); len(keys) != 0 {
		t.Fatalf("objects written during the outage: %v", keys)
	}
	if inj, fwd := faults.counts(); inj == 0 || fwd != 0 {
		t.Errorf("during the outage %d requests failed and %d reached S3; want some and none", inj, fwd)
	}
	faults.setFailAll(0)
	if err := s.Write(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	if keys := env.keys(t); len(keys) != 3 {
		t.Errorf("objects after recovery %v, want 3", keys)
	}
}

func TestSSEKMS(t *testing.T) {
	env := newMotoEnv(t)
	s := env.sink(t, func(c *Config) { c.KMSKeyID = "alias/weir" }, nil)
	out := reportsOutput()
	if err := s.Write(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	for key := range wantLines(t, "weir/test", out, true) {
		head, err := env.reader.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		if head.ServerSideEncryption != "aws:kms" || aws.ToString(head.SSEKMSKeyId) == "" {
			t.Errorf("%s: encryption %q key %q, want aws:kms", key, head.ServerSideEncryption, aws.ToString(head.SSEKMSKeyId))
		}
	}
}

func TestConfigValidateNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		mut  func(*Config)
		want string
	}{
		{func(c *Config) { c.Bucket = "" }, "s3.bucket:"},
		{func(c *Config) { c.Bucket = "a/b" }, "s3.bucket:"},
		{func(c *Config) { c.Prefix = "x/" }, "s3.prefix:"},
		{func(c *Config) { c.PartSize = 1 << 20 }, "s3.part_size:"},
		{func(c *Config) { c.Concurrency = -1 }, "s3.concurrency:"},
		{func(c *Config) { c.Retry.GiveUpAfter = -1 }, "s3.retry.give_up_after:"},
	} {
		c := Config{Bucket: "ok-bucket"}
		c.ApplyDefaults()
		tc.mut(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want an error naming %q", err, tc.want)
		}
	}
	c := Config{Bucket: "ok-bucket"}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil || !*c.Gzip || c.PartSize != 8<<20 || c.Concurrency != 4 {
		t.Errorf("defaults: %v %+v", err, c)
	}
}

func TestMetricsLint(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.objects.WithLabelValues("report", "ok").Inc()
	m.errors.WithLabelValues("throttle").Inc()
	m.objectBytes.WithLabelValues("report").Observe(1)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("metric %s: %s", p.Metric, p.Text)
	}
}

func TestCheckRefusesAMissingBucket(t *testing.T) {
	env := newMotoEnv(t)
	if err := env.sink(t, nil, nil).Check(context.Background()); err != nil {
		t.Fatalf("existing bucket refused: %v", err)
	}
	err := env.sink(t, func(c *Config) { c.Bucket = "no-such-bucket" }, nil).Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "s3.bucket:") {
		t.Errorf("missing bucket: got %v, want an error naming s3.bucket", err)
	}
}
