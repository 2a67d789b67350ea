package moto

import (
	"net/http"
	"testing"
	"time"

	"github.com/weirstream/weir/internal/testproc"
)

func status(t *testing.T, method, url string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestStartResetStop creates a bucket through moto's S3 API (moto accepts unsigned requests),
// checks Reset wipes it, and that two servers run side by side on different ports.
func TestStartResetStop(t *testing.T) {
	a, b := Start(t), Start(t)
	if a.Endpoint() == b.Endpoint() {
		t.Fatalf("two servers share %s", a.Endpoint())
	}
	if got := status(t, http.MethodPut, a.Endpoint()+"/harness-bucket"); got != http.StatusOK {
		t.Fatalf("create bucket: HTTP %d\n%s", got, a.Output())
	}
	if got := status(t, http.MethodHead, a.Endpoint()+"/harness-bucket"); got != http.StatusOK {
		t.Fatalf("head bucket: HTTP %d", got)
	}
	if got := status(t, http.MethodHead, b.Endpoint()+"/harness-bucket"); got != http.StatusNotFound {
		t.Fatalf("bucket visible on the other server: HTTP %d", got)
	}
	a.Reset(t)
	if got := status(t, http.MethodHead, a.Endpoint()+"/harness-bucket"); got != http.StatusNotFound {
		t.Fatalf("bucket survived Reset: HTTP %d", got)
	}
	a.Stop()
	if _, err := http.Get(a.Endpoint() + "/moto-api/data.json"); err == nil {
		t.Fatal("server still answers after stop")
	}
}

// moto_server dies with the test binary that started it, even one killed with SIGKILL (a
// `go test -timeout`), instead of holding its port and memory on a shared machine.
func TestServerDiesWithTheTestBinary(t *testing.T) {
	testproc.CheckDiesWithParent(t, "TestHelperMotoServer", 10*time.Second)
}

// TestHelperMotoServer is TestServerDiesWithTheTestBinary's helper process (it returns at once
// in any other run).
func TestHelperMotoServer(t *testing.T) {
	if !testproc.IsHelper() {
		return
	}
	s, err := StartProcess()
	if err != nil {
		t.Fatal(err)
	}
	testproc.HelperServe(s.Endpoint(), s.Pid())
}
