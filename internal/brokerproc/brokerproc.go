// Package brokerproc runs a kfake Kafka broker in a process of its own, for harnesses that must
// not share a process with it: the benchmark (what it reports as RSS and CPU must be the
// worker's alone, and kfake holds every record in memory) and the chaos harness (workers are
// killed and restarted around a broker that stays up).
//
// The harness re-executes its own binary in a broker role; that process calls Serve, and the
// parent holds it through Start.
package brokerproc

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kfake"
)

// SegmentBytes is the broker's log segment size. kfake keeps each segment in an in-memory file
// that doubles its buffer as it grows, copying it under the cluster's single request loop.
// With kfake's 100 MiB default a live topic's growing segment stalled every fetch and produce
// for tens to hundreds of ms at a time (bench/README.md); a real broker appends to its page
// cache instead. 8 MiB bounds each copy to a few ms.
const SegmentBytes = 8 << 20

// Serve is the broker process: a one-broker kfake cluster on a random loopback port. It prints
// the broker's addresses on stdout (one line, comma-separated) and serves until stdin closes
// (the parent exited or closed the pipe), so it never outlives the harness.
func Serve(stdin io.Reader, stdout io.Writer, opts ...kfake.Opt) error {
	all := append([]kfake.Opt{kfake.NumBrokers(1),
		kfake.BrokerConfigs(map[string]string{"log.segment.bytes": strconv.Itoa(SegmentBytes)})}, opts...)
	c, err := kfake.NewCluster(all...)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := fmt.Fprintln(stdout, strings.Join(c.ListenAddrs(), ",")); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, stdin)
	return nil
}

// Proc is the parent's handle on a broker process.
type Proc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addrs []string
}

// Start starts cmd, a program that calls Serve, and waits for the broker's addresses. cmd's
// Stdin and Stdout must be unset: they are the pipes Serve talks on.
func Start(cmd *exec.Cmd) (*Proc, error) {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the broker: %w", err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stdin.Close()
		_ = cmd.Wait()
		return nil, fmt.Errorf("reading the broker's address: %w", err)
	}
	return &Proc{cmd: cmd, stdin: stdin, addrs: strings.Split(strings.TrimSpace(line), ",")}, nil
}

// Addrs are the broker's host:port addresses.
func (p *Proc) Addrs() []string { return p.addrs }

// Stop closes the broker's stdin and waits for it to exit.
func (p *Proc) Stop() error {
	p.stdin.Close()
	return p.cmd.Wait()
}
