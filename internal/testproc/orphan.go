package testproc

import (
	"bufio"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
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
	// A helper whose server could not start (its free port taken by another test between the
	// pick and the bind, on a machine running many packages' tests at once) exits without a
	// line: that is the set-up failing, not the check, so it is tried again, a few times.
	var h *helperProc
	for attempt := 1; ; attempt++ {
		var ok bool
		h, ok = startHelper(t, helper)
		if ok {
			break
		}
		if attempt == 3 {
			t.Fatalf("helper %s exited without starting a server, 3 times", helper)
		}
		t.Logf("helper %s exited without starting a server (attempt %d); trying again", helper, attempt)
	}
	defer h.stop()
	endpoint, pidText, _ := strings.Cut(h.line, " ")
	pid, err := strconv.Atoi(pidText)
	if err != nil {
		t.Fatalf("helper line %q: %v", h.line, err)
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	if !listening(u.Host) {
		t.Fatalf("nothing listening on %s before the helper is killed", u.Host)
	}
	h.kill()
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

// helperProc is a running helper process and the line it printed.
type helperProc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	line   string
}

func (h *helperProc) kill() { _ = h.cmd.Process.Kill() }

func (h *helperProc) stop() {
	h.kill()
	<-h.exited
}

// startHelper runs the test named helper as a process of its own and waits for its line. ok is
// false if the helper exited without one.
func startHelper(t *testing.T, helper string) (h *helperProc, ok bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+helper+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"=1", "TMPDIR="+helperTemp(t))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h = &helperProc{cmd: cmd, exited: make(chan struct{})}
	// One goroutine reads the helper's output to its end and only then waits for the process
	// (Wait closes the pipe): a second reader of lines would race the select below for the one
	// line, and the select would then wait out its two minutes for a helper that is serving.
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if l, ok := strings.CutPrefix(sc.Text(), helperLine); ok {
				select {
				case lines <- l:
				default: // only the first line counts
				}
			}
		}
		_ = cmd.Wait()
		close(h.exited)
	}()
	select {
	case l := <-lines:
		h.line = l
		return h, true
	case <-h.exited:
		select {
		case l := <-lines: // printed, then died: the check below finds nothing listening
			h.line = l
			return h, true
		default:
			return nil, false
		}
	case <-time.After(2 * time.Minute):
		h.stop()
		t.Fatalf("helper %s started no server within 2 minutes", helper)
		return nil, false
	}
}

// helperTemp returns the helper's temporary directory. The helper is SIGKILLed, so its own
// cleanups (t.TempDir's among them) never run: its temporary files go under this test's
// directory, removed when this test ends, instead of being left in the machine's temporary
// directory by every run. The directories are opened to every user (0755, as the machine's
// temporary directory is), because a helper may run its server as another user (workerproc
// runs the worker as the image's).
func helperTemp(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && strings.HasPrefix(d, os.TempDir()+string(filepath.Separator)); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func listening(hostport string) bool {
	c, err := net.DialTimeout("tcp", hostport, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
