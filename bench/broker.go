package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kfake"
)

// The broker runs in its own process so that what the scenarios report as RSS and CPU is the
// worker's alone: kfake holds every record in memory, a few hundred MB for the data set.

// segmentBytes is the broker's log segment size (see runBroker).
const segmentBytes = 8 << 20

// runBroker is the broker process: a one-broker kfake cluster on a random loopback port. It
// prints its address on stdout and serves until stdin closes (the orchestrator exited or
// closed the pipe), so it never outlives the run.
func runBroker(stdin io.Reader, stdout io.Writer) error {
	// Small log segments: kfake keeps each segment in an in-memory file that doubles its
	// buffer as it grows, copying it under the cluster's single request loop. With kfake's
	// 100 MiB default a live topic's growing segment stalled every fetch and produce for tens
	// to hundreds of ms at a time (memmove was a third of the broker's CPU in the latency
	// scenario); a real broker appends to its page cache instead. 8 MiB bounds each copy to a
	// few ms.
	c, err := kfake.NewCluster(kfake.NumBrokers(1),
		kfake.BrokerConfigs(map[string]string{"log.segment.bytes": strconv.Itoa(segmentBytes)}))
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Fprintln(stdout, strings.Join(c.ListenAddrs(), ","))
	_, _ = io.Copy(io.Discard, stdin)
	return nil
}

// brokerProc is the orchestrator's handle on the broker process.
type brokerProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addrs []string
}

// startBroker starts this binary in broker role and waits for its address.
func startBroker(self, profileDir string) (*brokerProc, error) {
	cmd := exec.Command(self, "-role", "broker", "-profile", profileDir)
	cmd.Stderr = os.Stderr
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
	return &brokerProc{cmd: cmd, stdin: stdin, addrs: strings.Split(strings.TrimSpace(line), ",")}, nil
}

// stop closes the broker's stdin and waits for it to exit.
func (b *brokerProc) stop() error {
	b.stdin.Close()
	return b.cmd.Wait()
}
