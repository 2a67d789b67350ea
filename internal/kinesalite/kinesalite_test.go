package kinesalite

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/weirstream/weir/internal/testproc"
)

// kinesalite (node running its server) dies with the test binary that started it, even one
// killed with SIGKILL (a `go test -timeout`), instead of holding its port and memory on a
// shared machine.
func TestServerDiesWithTheTestBinary(t *testing.T) {
	testproc.CheckDiesWithParent(t, "TestHelperKinesalite", 10*time.Second)
}

// TestHelperKinesalite is TestServerDiesWithTheTestBinary's helper process (it returns at once
// in any other run).
func TestHelperKinesalite(t *testing.T) {
	if !testproc.IsHelper() {
		return
	}
	s := Start(t)
	testproc.HelperServe(s.Endpoint(), s.Pid())
}

// A client that hangs up mid-request (a worker SIGTERMed while a call is in flight) does not
// take the server down: kinesalite rethrows the request's error, which killed the process and
// failed every later test that shared it (serve's uncaughtException handler).
func TestServerSurvivesAClientThatHangsUp(t *testing.T) {
	s := Start(t)
	u, err := url.Parse(s.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		// Headers promise a body that never comes; closing now aborts the request on the
		// server's side while it waits for the body.
		fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-amz-json-1.1\r\n"+
			"X-Amz-Target: Kinesis_20131202.ListStreams\r\nContent-Length: 1000\r\n\r\n{\"Limit\":", u.Host)
		time.Sleep(50 * time.Millisecond)
		c.Close()
	}
	time.Sleep(200 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if !ready(ctx, s.Endpoint()) {
		t.Fatal("kinesalite stopped answering after clients hung up mid-request")
	}
}
