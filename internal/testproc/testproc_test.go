package testproc

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

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
	p, err := Start("http.server", func(port int) []string {
		return []string{"python3", "-m", "http.server", strconv.Itoa(port), "--bind", "127.0.0.1"}
	}, httpReady, 20*time.Second)
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

	_, err = Start("sh", func(int) []string { return []string{"sh", "-c", "echo nope; exit 3"} }, httpReady, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "exited before answering") || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("early exit: %v", err)
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
	p, err := Start("http.server", func(port int) []string {
		return []string{"python3", "-m", "http.server", strconv.Itoa(port), "--bind", "127.0.0.1"}
	}, httpReady, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	HelperServe(p.Endpoint(), p.Pid())
}
