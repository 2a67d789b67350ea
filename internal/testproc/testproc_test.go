package testproc

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// httpServer is python's http.server on a port it binds itself, announced as Start expects.
var httpServer = []string{"python3", "-c", `
import http.server as h
s = h.ThreadingHTTPServer(("127.0.0.1", 0), h.SimpleHTTPRequestHandler)
print("` + ListeningLine + `%d" % s.server_port, flush=True)
s.serve_forever()
`}

func httpReady(ctx context.Context, endpoint string) bool {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// A real server (python's http.server) comes up on the chosen port, answers, and is gone after
// Stop; a command that exits at once is reported with its output.
func TestStartStopAndEarlyExit(t *testing.T) {
	p, err := Start("http.server", httpServer, httpReady, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !httpReady(context.Background(), p.Endpoint()) {
		t.Fatal("not answering after Start")
	}
	p.Stop()
	if httpReady(context.Background(), p.Endpoint()) {
		t.Fatal("still answering after Stop")
	}

	_, err = Start("sh", []string{"sh", "-c", "echo nope; exit 3"}, httpReady, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "exited before listening") || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("early exit: %v", err)
	}
	_, err = Start("sh", []string{"sh", "-c", "echo " + ListeningLine + "1; exit 3"}, httpReady, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "exited before answering") {
		t.Fatalf("exit after the listening line: %v", err)
	}
}

// A server started through Start dies with the process that started it, killed with SIGKILL
// (a test binary killed by a timeout): no moto or kinesalite left running on a shared machine.
func TestServerDiesWithItsParent(t *testing.T) {
	CheckDiesWithParent(t, "TestHelperHTTPServer", 10*time.Second)
}

// TestHelperHTTPServer is TestServerDiesWithItsParent's helper process (it returns at once in
// any other run).
func TestHelperHTTPServer(t *testing.T) {
	if !IsHelper() {
		return
	}
	p, err := Start("http.server", httpServer, httpReady, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	HelperServe(p.Endpoint(), p.Pid())
}
