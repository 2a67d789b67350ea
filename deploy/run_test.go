package deploy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/internal/moto"
	"github.com/weirstream/weir/internal/workerproc"
)

// TestTemplateEnvironment starts the real worker binary the way ECS starts it from each
// template: with exactly the environment the task definition sets (parsed from the template),
// as a non-root user, in a read-only working directory, with the ECS agent's endpoints, against
// local servers standing in for the AWS services (moto for S3, Kinesis and DynamoDB; kfake as
// an MSK cluster with TLS and IAM authentication). What the test adds to the environment is
// only what AWS and ECS provide a task: credentials, the services' endpoint (the SDK's own
// AWS_ENDPOINT_URL, through a proxy that records every call), the agent's URIs, and the CA that
// signs the brokers' certificates; plus WEIR_HTTP_ADDR, because the template's default port
// 8080 is not free on a shared machine.
//
// It asserts the worker becomes ready, processes the records, writes its outputs to S3, emits
// EMF lines on stdout and exits 0 on SIGTERM; then, from that run: every call it sent is listed
// in PERMISSIONS.md and allowed by the template's task role (permissions), and every alarm,
// dashboard widget and the scaling policy watch metrics the run really emitted (alarms).
//
// It waits for the first scaling tick (scaling.period, 60s, which the templates do not set),
// so it takes a little over a minute; both templates run in parallel.
func TestTemplateEnvironment(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the worker binary for over a minute (-short)")
	}
	bin := workerproc.Build(t, "../cmd/worker")
	perms := loadPermissions(t)
	for _, path := range templates(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			r := runTemplate(t, bin, path)
			t.Run("permissions", func(t *testing.T) {
				checkObserved(t, r.stack, perms, r.calls)
			})
			t.Run("alarms", func(t *testing.T) {
				checkAlarms(t, r.stack, r.emitted)
			})
		})
	}
}

// runResult is what one run of the worker left behind.
type runResult struct {
	stack   *stack
	calls   []observedCall
	emitted map[metricID]int
}

const (
	runRecords  = 400
	runBucket   = "weir-test-outputs"
	runTopic    = "access-logs"
	runTaskID   = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
	runAccessID = "AKIAWEIRTESTACCESSKEY"
)

// runVariants are the parameters each template is run with beyond testParameters: the MSK run
// also has task protection enabled (and must not take it: it keeps up).
var runVariants = map[string]map[string]string{
	"weir-msk.yaml":     {"EnableTaskProtection": "true", "TopicName": runTopic, "BucketName": runBucket},
	"weir-kinesis.yaml": {"EnableTaskProtection": "false", "StreamName": runTopic, "BucketName": runBucket},
}

func runTemplate(t *testing.T, bin, path string) runResult {
	name := filepath.Base(path)
	tpl := load(t, path)
	values := map[string]string{}
	for k, v := range testParameters[name] {
		values[k] = v
	}
	for k, v := range runVariants[name] {
		values[k] = v
	}
	dir := workerproc.Shared(t) // the worker's user reads the brokers' CA file from it
	ctx := context.Background()

	mt := moto.Start(t)
	rec := startAWSRecorder(t, mt.Endpoint())
	awsCfg := aws.Config{Region: testRegion, Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	s3c := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.BaseEndpoint, o.UsePathStyle = aws.String(mt.Endpoint()), true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(runBucket)}); err != nil {
		t.Fatal(err)
	}

	var msk *fakeMSK
	extraEnv := []string{}
	st := newStack(t, tpl, values)
	switch st.environment(t)["WEIR_SOURCE_KIND"] {
	case "kafka":
		msk = startFakeMSK(t, dir, runTopic, 4, runAccessID, st.taskRolePolicy(t))
		values["BootstrapBrokers"] = strings.Join(msk.cluster.ListenAddrs(), ",")
		st = newStack(t, tpl, values)
		seedKafka(t, msk)
		extraEnv = append(extraEnv, "SSL_CERT_FILE="+msk.caFile)
		msk.setRecording(true)
	case "kinesis":
		seedKinesis(t, st, awsCfg, mt.Endpoint())
	default:
		t.Fatalf("%s: unknown source kind", name)
	}
	agent := startFakeECSAgent(t, values["ClusterName"], runTaskID)

	addr := workerproc.FreeAddr(t)
	env := []string{"HOME=/nonexistent", "WEIR_HTTP_ADDR=" + addr,
		"AWS_ACCESS_KEY_ID=" + runAccessID, "AWS_SECRET_ACCESS_KEY=weir-test-secret",
		"AWS_ENDPOINT_URL=" + rec.srv.URL, "AWS_EC2_METADATA_DISABLED=true"}
	env = append(append(env, extraEnv...), agent.env()...)
	for k, v := range st.environment(t) {
		env = append(env, k+"="+v)
	}

	wd := workerproc.ReadOnly(t)
	p := workerproc.Start(t, bin, wd, env)
	// -check, with the same environment, user and directory, calls valid what starts.
	if code, out := workerproc.Run(t, bin, wd, env, "-check"); code != 0 {
		t.Errorf("worker -check refused the template's environment (exit %d):\n%s", code, out)
	}
	base := "http://" + addr
	p.WaitFor(t, "ready (/readyz 200)", 60*time.Second, func() bool { return httpStatus(base+"/readyz") == http.StatusOK })
	p.WaitFor(t, fmt.Sprintf("%d records processed", runRecords), 60*time.Second, func() bool {
		return metricSum(base+"/metrics", "weir_records_processed_total") >= runRecords
	})
	p.WaitFor(t, "the first scaling signal on stdout", 100*time.Second, func() bool {
		return bytes.Contains(p.Stdout.Bytes(), []byte(`"DesiredTasks"`))
	})
	// The records' window closes allowed_lateness after its end on the wall clock, which can be
	// later than the first scaling signal (records written in a minute's first seconds): a stop
	// before then leaves the window open, and its summary unwritten, by design.
	summaries := st.params["BucketPrefix"] + "/kind=summary/"
	p.WaitFor(t, "a window summary in S3", 100*time.Second, func() bool {
		out, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(runBucket), Prefix: aws.String(summaries), MaxKeys: aws.Int32(1)})
		return err == nil && len(out.Contents) > 0
	})
	p.Stop(t, 40*time.Second)
	if values["EnableTaskProtection"] == "true" {
		// Protection is for a task draining a backlog (ecs.protection.behind, 60s): this run
		// keeps up from the start, so through the run and its shutdown the agent must see no
		// protection call. worker's TestProtectionDuringABacklogOnly takes and drops it against
		// this same fake agent; TestTaskRoleAllowsEveryCall holds the role to the call.
		if got := agent.Protections(); len(got) != 0 {
			t.Errorf("%d task protection calls in a run that kept up with its traffic, want none: %+v", len(got), got)
		}
	}
	if msk != nil {
		msk.setRecording(false)
	}

	// Outputs in S3 (read directly from moto, not through the recorder).
	out, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(runBucket)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	found := false
	for _, k := range keys {
		found = found || strings.HasPrefix(k, summaries)
	}
	if !found {
		t.Errorf("no window summary under s3://%s/%s after the stop; the bucket holds %v", runBucket, summaries, keys)
	}

	emitted, other, err := emittedMetrics(p.Stdout.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(emitted) == 0 {
		t.Errorf("no EMF metrics on stdout")
	}
	if len(other) > 0 {
		t.Errorf("stdout holds %d lines that are not EMF (CloudWatch Logs would store them as log events): %q", len(other), other[:min(3, len(other))])
	}

	calls, unclassified := rec.calls()
	for _, u := range unclassified {
		t.Errorf("AWS request: %s", u)
	}
	calls = append(calls, agent.calls()...)
	if msk != nil {
		for api := range msk.recorded() {
			calls = append(calls, observedCall{call: "kafka:" + api, context: map[string]string{}})
		}
		if len(msk.authErrs) > 0 {
			t.Errorf("MSK IAM authentication failed: %v", msk.authErrs)
		}
	}
	t.Logf("%s: %d S3 objects, %d EMF metrics, %d distinct calls recorded", name, len(keys), len(emitted), len(calls))
	return runResult{stack: st, calls: calls, emitted: emitted}
}

func seedKafka(t *testing.T, m *fakeMSK) {
	t.Helper()
	cl := m.client(t, kgo.DefaultProduceTopic(runTopic))
	var recs []*kgo.Record
	for i := range runRecords {
		recs = append(recs, &kgo.Record{Key: []byte(strconv.Itoa(i % 17)), Value: accessLogLine(i)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl.Close()
}

// seedKinesis creates the stream with records, and the lease table as the template defines it
// (when it does).
func seedKinesis(t *testing.T, st *stack, awsCfg aws.Config, endpoint string) {
	t.Helper()
	ctx := context.Background()
	kc := kinesis.NewFromConfig(awsCfg, func(o *kinesis.Options) { o.BaseEndpoint = aws.String(endpoint) })
	stream := st.params["StreamName"]
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	var entries []kintypes.PutRecordsRequestEntry
	for i := range runRecords {
		entries = append(entries, kintypes.PutRecordsRequestEntry{PartitionKey: aws.String(strconv.Itoa(i)), Data: accessLogLine(i)})
	}
	for len(entries) > 0 {
		chunk := entries[:min(len(entries), 200)]
		out, err := kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: chunk})
		if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
			t.Fatalf("PutRecords: %v", err)
		}
		entries = entries[len(chunk):]
	}
	if _, ok := get(st.tpl, "Resources", "LeaseTable").(map[string]any); !ok {
		return
	}
	props := st.resource(t, "LeaseTable")
	in := &dynamodb.CreateTableInput{TableName: aws.String(props["TableName"].(string)),
		BillingMode: dbtypes.BillingMode(props["BillingMode"].(string))}
	for _, k := range props["KeySchema"].([]any) {
		in.KeySchema = append(in.KeySchema, dbtypes.KeySchemaElement{AttributeName: aws.String(get(k, "AttributeName").(string)),
			KeyType: dbtypes.KeyType(get(k, "KeyType").(string))})
	}
	for _, a := range props["AttributeDefinitions"].([]any) {
		in.AttributeDefinitions = append(in.AttributeDefinitions, dbtypes.AttributeDefinition{
			AttributeName: aws.String(get(a, "AttributeName").(string)), AttributeType: dbtypes.ScalarAttributeType(get(a, "AttributeType").(string))})
	}
	db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) })
	if _, err := db.CreateTable(ctx, in); err != nil {
		t.Fatalf("creating the template's lease table: %v", err)
	}
}

func accessLogLine(i int) []byte {
	return fmt.Appendf(nil, `{"ts":%q,"tenant":"t%d","path":"/api/%d","status":%d,"bytes":%d}`,
		time.Now().UTC().Format(time.RFC3339Nano), i%7, i%13, []int{200, 200, 200, 404, 500}[i%5], 100+i)
}

func httpStatus(url string) int {
	cl := http.Client{Timeout: 2 * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// metricSum adds up every series of a Prometheus counter or gauge at url.
func metricSum(url, name string) float64 {
	cl := http.Client{Timeout: 2 * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		f := strings.Fields(line)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
			sum += v
		}
	}
	return sum
}
