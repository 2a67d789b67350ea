// Package workerproc runs the worker binary in tests the way a container runs it: built as the
// Dockerfile builds it, started with exactly the environment given, in a directory of the
// test's choosing, as an unprivileged user (nobody, when the test runs as root), with its
// output kept. The deploy tests and cmd/worker's process tests share it.
package workerproc

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Build builds the worker command in pkgDir (the directory of package main, relative to the
// test's) with CGO_ENABLED=0 and -trimpath, into a directory every user can read, and returns
// the binary's path.
func Build(t testing.TB, pkgDir string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "weir-worker-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "worker")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	cmd.Dir = pkgDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// Shared returns a new temporary directory the worker's user can reach and read (the test's
// own are private to the test's user), for its working directory or files it reads.
func Shared(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/" && strings.HasPrefix(d, os.TempDir()); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Writable returns a new temporary directory the worker's user can write.
func Writable(t testing.TB) string {
	t.Helper()
	dir := Shared(t)
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

// ReadOnly returns a new directory the worker's user can enter but not write, like a
// distroless image's working directory.
func ReadOnly(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(Shared(t), "readonly")
	if err := os.Mkdir(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	return dir
}

// FreeAddr returns a loopback address no one listens on now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Proc is a running worker.
type Proc struct {
	Cmd            *exec.Cmd
	Stdout, Stderr *Output
	exited         chan struct{}
	err            error
}

func command(bin, dir string, env, args []string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env = dir, env
	cmd.SysProcAttr = sysProcAttr()
	if os.Geteuid() == 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: 65534, Gid: 65534}
	}
	return cmd
}

// Start runs bin with args in dir with exactly env. It is killed when the test ends if it is
// still running; a failed test logs the end of its stderr.
func Start(t testing.TB, bin, dir string, env []string, args ...string) *Proc {
	t.Helper()
	p := &Proc{Stdout: &Output{}, Stderr: &Output{}, exited: make(chan struct{})}
	p.Cmd = command(bin, dir, env, args)
	p.Cmd.Stdout, p.Cmd.Stderr = p.Stdout, p.Stderr
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.Cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.Cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("worker stderr:\n%s", p.Stderr.Tail(60))
		}
	})
	return p
}

// Run runs bin with args in dir with exactly env to its end and returns its exit code and
// everything it printed.
func Run(t testing.TB, bin, dir string, env []string, args ...string) (int, string) {
	t.Helper()
	out, err := command(bin, dir, env, args).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	case err != nil:
		t.Fatal(err)
	}
	return 0, string(out)
}

// WaitFor polls cond until it holds; the worker exiting first, or the timeout, fails the test.
func (p *Proc) WaitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		select {
		case <-p.exited:
			t.Fatalf("the worker exited (%v) before %s; stderr:\n%s", p.err, what, p.Stderr.Tail(40))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v; stderr:\n%s", what, timeout, p.Stderr.Tail(40))
		}
	}
}

// Terminate sends SIGTERM, as ECS does, and waits up to timeout for the exit. It returns how
// long the worker took and its exit error (nil: exit 0); exited is false if it did not exit.
func (p *Proc) Terminate(timeout time.Duration) (took time.Duration, err error, exited bool) {
	start := time.Now()
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, err, false
	}
	err, exited = p.Wait(timeout)
	return time.Since(start), err, exited
}

// Wait waits up to timeout for the worker to exit, and returns its exit error (nil: exit 0);
// exited is false if it did not exit.
func (p *Proc) Wait(timeout time.Duration) (err error, exited bool) {
	select {
	case <-p.exited:
		return p.err, true
	case <-time.After(timeout):
		return nil, false
	}
}

// Stop is Terminate that requires exit 0 within timeout.
func (p *Proc) Stop(t testing.TB, timeout time.Duration) time.Duration {
	t.Helper()
	took, err, exited := p.Terminate(timeout)
	switch {
	case !exited:
		t.Fatalf("the worker did not exit within %v of SIGTERM; stderr:\n%s", timeout, p.Stderr.Tail(40))
	case err != nil:
		t.Fatalf("the worker exited with %v after SIGTERM; stderr:\n%s", err, p.Stderr.Tail(40))
	}
	t.Logf("exit 0 %v after SIGTERM", took.Round(time.Millisecond))
	return took
}

// Kill sends SIGKILL, as a crashed host or an OOM kill does, and waits for the exit.
func (p *Proc) Kill(t testing.TB) {
	t.Helper()
	if err := p.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.exited
}

// Output collects what the worker writes to one stream.
type Output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

// Bytes returns a copy of everything written so far.
func (o *Output) Bytes() []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	return bytes.Clone(o.b.Bytes())
}

// Tail returns the last n lines written so far.
func (o *Output) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(string(o.Bytes()), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
