package kinesis_test

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weirstream/weir/internal/moto"
)

// blackhole is a DynamoDB endpoint that accepts connections and never answers (a stuck proxy,
// a peer gone without a reset): every call waits until its context ends.
func blackhole(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() { _, _ = io.Copy(io.Discard, c) }() // read the request, answer nothing
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + l.Addr().String()
}

// An endpoint that accepts connections and never answers, at start (Kinesis for the stream
// check, DynamoDB for the lease table's): the first attempt that runs out of time is logged at
// once, saying what is retried and until when (not two minutes of silence and then an exit),
// and Run returns as soon as it is stopped.
func TestUnansweringEndpointsLoggedAtOnce(t *testing.T) {
	srv := moto.Start(t)
	for _, tc := range []struct{ name, what, op string }{
		{"lease table", "the lease table leases-unanswered", "DescribeTable"},
		{"stream", "the stream", "DescribeStreamSummary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, srv.Endpoint(), srv.Endpoint())
			ddbCfg := awsConfig(t, blackhole(t))
			if tc.op == "DescribeStreamSummary" {
				e = newEnv(t, blackhole(t), srv.Endpoint())
				ddbCfg = e.ddbCfg
			} else {
				e.createStream(t, "unanswered", 1)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			start := time.Now()
			logs, done := e.startSource(t, ctx, ddbCfg, testConfig("unanswered", "leases-unanswered", "a"))
			waitUntil(t, 20*time.Second, "the unanswering endpoint logged", func() bool {
				return strings.Contains(logs.String(), "cannot reach "+tc.what+" at start; retrying")
			})
			t.Logf("logged %v after start: %s", time.Since(start).Round(time.Millisecond), logs.String())
			if line := logs.String(); !strings.Contains(line, "op="+tc.op) || !strings.Contains(line, "retrying_until=") ||
				!strings.Contains(line, "reason=network") {
				t.Errorf("the log line does not say what is retried and until when: %s", line)
			}
			cancel()
			select {
			case err := <-done:
				if err == nil {
					t.Error("Run returned no error with an endpoint that never answered")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return within 5s of its context ending")
			}
		})
	}
}
