package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

// TestMain lets the test binary serve as a Kafka broker in a process of its own (see
// startBroker): the worker processes under test then share a broker that none of them, and
// not the test either, can stall or crash.
func TestMain(m *testing.M) {
	if os.Getenv("WEIR_TEST_BROKER") != "" {
		if err := serveBroker(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "broker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serveBroker is the broker process: a one-broker kfake cluster on a random loopback port
// with an "events" topic of 4 partitions. It prints its address and serves until stdin closes
// (the test ended or died), so it never outlives the test.
func serveBroker(stdin io.Reader, stdout io.Writer) error {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "events"))
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Fprintln(stdout, strings.Join(c.ListenAddrs(), ","))
	_, _ = io.Copy(io.Discard, stdin)
	return nil
}

// startBroker runs this test binary as a broker process and returns its addresses; the
// process ends with the test.
func startBroker(t *testing.T) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "WEIR_TEST_BROKER=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the broker's address: %v", err)
	}
	return strings.Split(strings.TrimSpace(line), ",")
}
