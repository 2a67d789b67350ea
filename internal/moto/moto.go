// Package moto runs a real moto_server (https://github.com/getmoto/moto) for tests: one process
// per test package (or per test), on a loopback port it binds itself, stopped when the test ends.
// moto speaks the real AWS wire protocols for S3, CloudWatch, CloudWatch Logs, DynamoDB and
// Kinesis, so tests exercise weir's real SDK clients end to end.
//
// Known moto quirks weir's tests work around (see shared/design/TEST-SERVERS.md):
//   - aws-sdk-go-v2 service/cloudwatch >= v1.53 speaks Smithy RPCv2 CBOR, which moto cannot
//     parse: weir's CloudWatch client switches to awsQuery whenever an endpoint override is set.
//   - moto stores Embedded Metric Format log lines but never turns them into metrics: EMF
//     tests parse the lines back themselves.
//   - moto never throttles: throttling is injected in front of it (see sinks/cloudwatch tests).
//   - moto_server handles requests on concurrent threads without locking its backends, so
//     conditional writes (DynamoDB ConditionExpression, S3 If-None-Match and If-Match) are not
//     atomic: moto's application is served through a launcher that handles DynamoDB requests
//     and S3 writes one at a time (atomic.go).
package moto

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/weirstream/weir/internal/awsconf"
	"github.com/weirstream/weir/internal/testproc"
)

// startTimeout bounds how long moto_server may take to listen and answer. It is a bound on a
// failure's latency, not a performance check: on a loaded two-core CI machine, with several test
// packages starting servers at once, a Python or Node start-up took more than 30 s (flake116,
// load average 14), and the test failed before it began.
const startTimeout = 90 * time.Second

// Install says how to get moto_server onto a machine that lacks it.
const Install = `moto_server not found: install it with  pip install 'moto[server]'  (it provides ` +
	`the moto_server command; "python3 -m moto.server" works too), or run .ci/run, which checks it`

// Server is a running moto_server.
type Server struct {
	*testproc.Process
}

// Start starts moto_server on a free loopback port, waits until it answers, and stops it when
// the test (or benchmark) ends. If moto is not installed the test fails with instructions: tests
// that need AWS never skip silently.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := StartProcess()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.StopAfter(t) })
	return s
}

// StartProcess starts moto_server as Start does, for a harness that runs outside a test (the
// chaos command); the caller stops it.
func StartProcess() (*Server, error) {
	argv, err := command()
	if err != nil {
		return nil, err
	}
	return start(argv)
}

// command returns the launcher (see atomic.go) run by a Python that has moto.
func command() ([]string, error) {
	if py, ok := python(); ok {
		return []string{py, "-c", launcher}, nil
	}
	return nil, errors.New(Install)
}

func start(argv []string) (*Server, error) {
	p, err := testproc.Start("moto_server", argv, ready, startTimeout)
	if err != nil {
		return nil, fmt.Errorf("moto: %w", err)
	}
	return &Server{p}, nil
}

// ready polls moto's own API until it answers.
func ready(ctx context.Context, endpoint string) bool {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/moto-api/data.json", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Reset wipes every resource on the server (buckets, metrics, tables, streams), for tests that
// share one server.
func (s *Server) Reset(t testing.TB) {
	t.Helper()
	resp, err := http.Post(s.Endpoint()+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("moto: reset: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("moto: reset: HTTP %d", resp.StatusCode)
	}
}

// Env returns environment variables that point an AWS CLI or SDK process at this server with
// dummy credentials (moto accepts any).
func (s *Server) Env() []string {
	return append(os.Environ(),
		"AWS_ACCESS_KEY_ID=moto", "AWS_SECRET_ACCESS_KEY=moto", "AWS_SESSION_TOKEN=",
		"AWS_DEFAULT_REGION=us-east-1", "AWS_REGION=us-east-1",
		"AWS_ENDPOINT_URL="+s.Endpoint(), "AWS_PAGER=", "AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null")
}

// AWS returns the configuration that points weir's AWS clients at this server (the two lines
// of the README: the endpoint and local credentials, in us-east-1) and the SDK configuration
// loaded from it.
func (s *Server) AWS(t testing.TB) (awsconf.Config, aws.Config) {
	t.Helper()
	conf, awsCfg, err := s.Config(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return conf, awsCfg
}

// Config is AWS for a harness outside a test.
func (s *Server) Config(ctx context.Context) (awsconf.Config, aws.Config, error) {
	conf := awsconf.Config{Endpoint: s.Endpoint(), Region: "us-east-1", LocalCredentials: true}
	if err := conf.Validate(); err != nil {
		return conf, aws.Config{}, err
	}
	awsCfg, err := conf.Load(ctx)
	return conf, awsCfg, err
}
