// Package testproc runs a local protocol server (moto_server, kinesalite) for tests: on a free
// loopback port, in its own process group (so stopping it also ends what it spawned), killed
// by the kernel if the process that started it dies first (a test binary killed by a timeout),
// with its output kept (bounded) for failure messages.
package testproc

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Process is a running server.
type Process struct {
	endpoint string
	name     string
	cmd      *exec.Cmd
	out      *lockedBuffer
	done     chan struct{}
}

// Start runs argv(port) on a free port and waits until ready(endpoint) reports true (polled
// every 50 ms) or timeout passes; on failure it stops the process and returns its output in the
// error.
func Start(name string, argv func(port int) []string, ready func(ctx context.Context, endpoint string) bool,
	timeout time.Duration) (*Process, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := argv(port)
	out := &lockedBuffer{}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{endpoint: "http://127.0.0.1:" + strconv.Itoa(port), name: name, cmd: cmd, out: out, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	if err := p.waitReady(ready, timeout); err != nil {
		p.Stop()
		return nil, fmt.Errorf("%w\n%s output:\n%s", err, name, out.String())
	}
	return p, nil
}

// Pid is the server's process id, which is also its process group's.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

func (p *Process) waitReady(ready func(context.Context, string) bool, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for !ready(ctx, p.endpoint) {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before answering on %s", p.name, p.endpoint)
		case <-ctx.Done():
			return fmt.Errorf("%s did not answer on %s within %v", p.name, p.endpoint, timeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// Endpoint is the server's base URL, http://127.0.0.1:PORT.
func (p *Process) Endpoint() string { return p.endpoint }

// Output returns what the server printed so far (the last MiB or so).
func (p *Process) Output() string { return p.out.String() }

// Stop ends the process group: SIGTERM, then SIGKILL if it lingers.
func (p *Process) Stop() {
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lockedBuffer collects the server's output; exec writes to it from its own goroutines. It
// keeps roughly the last MiB: servers like moto log every request.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 1<<20 {
		b.buf.Reset()
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
