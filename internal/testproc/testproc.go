// Package testproc runs a local protocol server (moto_server, kinesalite) for tests: on a
// loopback port the server binds itself, in its own process group (so stopping it also ends what it spawned), killed
// by the kernel if the process that started it dies first (a test binary killed by a timeout),
// with its output kept (bounded) for failure messages.
package testproc

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
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

// ListeningLine starts the line a server prints, on stdout or stderr, once it listens: the
// line is ListeningLine followed by the port, in decimal. The server binds the port itself
// (port 0 on 127.0.0.1): a port chosen here and handed to it could be taken by another
// process in between, and a readiness probe on it would then be answered by that process (a
// moto of another test package answers kinesalite's probe and its CreateStream), until that
// process went away in the middle of this test.
const ListeningLine = "testproc-listening "

// Start runs argv, reads the port from the server's ListeningLine, and waits until
// ready(endpoint) reports true (polled every 50 ms) or timeout passes; on failure it stops the
// process and returns its output in the error.
func Start(name string, argv []string, ready func(ctx context.Context, endpoint string) bool,
	timeout time.Duration) (*Process, error) {
	ports := make(chan int, 1)
	out := &lockedBuffer{onLine: func(line string) {
		if rest, ok := strings.CutPrefix(line, ListeningLine); ok {
			if port, err := strconv.Atoi(strings.TrimSpace(rest)); err == nil && port > 0 && port < 1<<16 {
				select {
				case ports <- port:
				default:
				}
			}
		}
	}}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{name: name, cmd: cmd, out: out, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	deadline := time.Now().Add(timeout)
	var port int
	select {
	case port = <-ports:
	case <-p.done:
		select {
		case port = <-ports: // announced, then exited: waitReady says so
		default:
			return nil, fmt.Errorf("%s exited before listening\n%s output:\n%s", name, name, out.String())
		}
	case <-time.After(timeout):
		p.Stop()
		return nil, fmt.Errorf("%s printed no %q line within %v\n%s output:\n%s", name, strings.TrimSpace(ListeningLine), timeout, name, out.String())
	}
	p.endpoint = "http://127.0.0.1:" + strconv.Itoa(port)
	if err := p.waitReady(ready, time.Until(deadline)); err != nil {
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

// StopAfter is Stop for a test's cleanup: if the test failed, it first logs whether the server
// was still running (a server that died mid-test shows up in the test only as "connection
// refused") and the tail of its output.
func (p *Process) StopAfter(t testing.TB) {
	if t.Failed() {
		state := "still running"
		select {
		case <-p.done:
			state = "exited: " + p.cmd.ProcessState.String()
		default:
		}
		out := p.Output()
		if len(out) > 4<<10 {
			out = out[len(out)-4<<10:]
		}
		t.Logf("%s on %s (pid %d) %s at the end of the failed test; its last output:\n%s", p.name, p.endpoint, p.Pid(), state, out)
	}
	p.Stop()
}

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

// lockedBuffer collects the server's output; exec writes to it from its own goroutines. It
// keeps roughly the last MiB: servers like moto log every request. onLine sees each complete
// line (lines longer than 4 KiB only in part).
type lockedBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	line   []byte
	onLine func(string)
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 1<<20 {
		b.buf.Reset()
	}
	if b.onLine != nil {
		for rest := p; len(rest) > 0; {
			i := bytes.IndexByte(rest, '\n')
			if i < 0 {
				if len(b.line) < 4<<10 {
					b.line = append(b.line, rest...)
				}
				break
			}
			b.line = append(b.line, rest[:i]...)
			b.onLine(string(b.line))
			b.line, rest = b.line[:0], rest[i+1:]
		}
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
