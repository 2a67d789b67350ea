package workerproc

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/internal/testproc"
)

// A process started with Start (a worker) dies with the test binary that started it, even one
// killed with SIGKILL (a `go test -timeout`): a worker left running would go on retrying its
// broker and holding its ports on a shared machine. A Python HTTP server stands in for the
// worker binary (building it would take most of the test's time); what is checked is Start's
// process setup.
func TestProcessDiesWithTheTestBinary(t *testing.T) {
	testproc.CheckDiesWithParent(t, "TestHelperWorkerProc", 10*time.Second)
}

// TestHelperWorkerProc is TestProcessDiesWithTheTestBinary's helper process (it returns at
// once in any other run).
func TestHelperWorkerProc(t *testing.T) {
	if !testproc.IsHelper() {
		return
	}
	addr := FreeAddr(t)
	_, port, _ := strings.Cut(addr, ":")
	p := Start(t, "/usr/bin/python3", Shared(t), os.Environ(), "-m", "http.server", port, "--bind", "127.0.0.1")
	p.WaitFor(t, "the server answering", 20*time.Second, func() bool {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://"+addr, nil)
		resp, err := (&http.Client{Timeout: 2 * time.Second}).Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	testproc.HelperServe("http://"+addr, p.Cmd.Process.Pid)
}
