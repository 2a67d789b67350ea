package main

import (
	"io"
	"os"
	"os/exec"

	"github.com/weirstream/weir/internal/brokerproc"
)

// The broker runs in its own process (internal/brokerproc) so that what the scenarios report
// as RSS and CPU is the worker's alone: kfake holds every record in memory, a few hundred MB
// for the data set.

// runBroker is the broker process: it serves until stdin closes, so it never outlives the run.
func runBroker(stdin io.Reader, stdout io.Writer) error { return brokerproc.Serve(stdin, stdout) }

// brokerProc is the orchestrator's handle on the broker process.
type brokerProc struct {
	*brokerproc.Proc
	addrs []string
}

// startBroker starts this binary in broker role and waits for its address.
func startBroker(self, profileDir string) (*brokerProc, error) {
	cmd := exec.Command(self, "-role", "broker", "-profile", profileDir)
	cmd.Stderr = os.Stderr
	p, err := brokerproc.Start(cmd)
	if err != nil {
		return nil, err
	}
	return &brokerProc{Proc: p, addrs: p.Addrs()}, nil
}

// stop closes the broker's stdin and waits for it to exit.
func (b *brokerProc) stop() error { return b.Stop() }
