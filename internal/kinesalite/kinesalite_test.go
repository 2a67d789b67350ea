package kinesalite

import (
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
