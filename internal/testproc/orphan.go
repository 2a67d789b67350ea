package testproc

import (
	"bufio"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes a test binary run as CheckDiesWithParent's helper process.
const helperEnv = "WEIR_TESTPROC_HELPER"

// helperLine prefixes the line a helper prints: the server's endpoint and process id.
const helperLine = "testproc-server "

// IsHelper reports whether this test binary was started by CheckDiesWithParent: the helper
// test it names should start its server and call HelperServe; every other run of that test
// returns at once (the os/exec helper-process idiom).
func IsHelper() bool { return os.Getenv(helperEnv) == "1" }

// HelperServe prints the server's endpoint and process id for CheckDiesWithParent and blocks
// until this process is killed.
func HelperServe(endpoint string, pid int) {
	fmt.Printf("%s%s %d\n", helperLine, endpoint, pid)
	select {}
}

// CheckDiesWithParent runs the test named helper of this test binary as a process of its own
// (where it starts a server and calls HelperServe), SIGKILLs that process as a test timeout or
// an OOM kill would, and fails t unless the server's port closes within timeout: a server
// must never outlive the test binary that started it. A surviving server is killed (with its
// process group) so the check leaves nothing behind either way.
func CheckDiesWithParent(t *testing.T, helper string, timeout time.Duration) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+helper+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	lines := make(chan string, 1)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if l, ok := strings.CutPrefix(sc.Text(), helperLine); ok {
				lines <- l
			}
		}
	}()
	go func() { <-lines; _ = cmd.Wait(); close(exited) }()
	kill := func() { _ = cmd.Process.Kill() }
	defer func() {
		kill()
		<-exited
	}()
	var line string
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatalf("helper %s exited without starting a server", helper)
		}
		line = l
	case <-time.After(2 * time.Minute):
		t.Fatalf("helper %s started no server within 2 minutes", helper)
	}
	endpoint, pidText, _ := strings.Cut(line, " ")
	pid, err := strconv.Atoi(pidText)
	if err != nil {
		t.Fatalf("helper line %q: %v", line, err)
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	if !listening(u.Host) {
		t.Fatalf("nothing listening on %s before the helper is killed", u.Host)
	}
	kill()
	deadline := time.Now().Add(timeout)
	for listening(u.Host) {
		if time.Now().After(deadline) {
			// Our server (and its group, if it leads one): not left running.
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the server (pid %d) still serves %s %v after the process that started it was killed", pid, u.Host, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func listening(hostport string) bool {
	c, err := net.DialTimeout("tcp", hostport, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
