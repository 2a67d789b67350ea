package brokerproc

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/internal/testproc"
)

// TestMain lets the test start this test binary as a broker process.
func TestMain(m *testing.M) {
	if os.Getenv("BROKERPROC_TEST_SERVE") == "1" {
		if err := Serve(os.Stdin, os.Stdout, kfake.SeedTopics(2, "t")); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// brokerCommand runs this test binary as a broker process (TestMain).
func brokerCommand() *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "BROKERPROC_TEST_SERVE=1")
	cmd.Stderr = os.Stderr
	return cmd
}

// A broker in its own process serves a round trip, and stops when its parent closes the pipe.
func TestServeAndStop(t *testing.T) {
	p, err := Start(brokerCommand())
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = p.Stop()
		}
	}()
	if len(p.Addrs()) != 1 {
		t.Fatalf("addresses %v: want one broker", p.Addrs())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.Addrs()...), kgo.DefaultProduceTopic("t"),
		kgo.ConsumeTopics("t"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("hello")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	fs := cl.PollFetches(ctx)
	if err := fs.Err(); err != nil {
		t.Fatal(err)
	}
	if recs := fs.Records(); len(recs) != 1 || string(recs[0].Value) != "hello" {
		t.Fatalf("fetched %v, want the one record produced", recs)
	}
	stopped = true
	if err := p.Stop(); err != nil {
		t.Fatalf("the broker did not exit cleanly when its stdin closed: %v", err)
	}
}

// The broker process dies with the process that started it, even one killed with SIGKILL: its
// stdin (Serve's pipe) closes with the parent. No fix was needed; this keeps it so.
func TestBrokerDiesWithItsParent(t *testing.T) {
	testproc.CheckDiesWithParent(t, "TestHelperBrokerParent", 10*time.Second)
}

// TestHelperBrokerParent is TestBrokerDiesWithItsParent's helper process (it returns at once
// in any other run).
func TestHelperBrokerParent(t *testing.T) {
	if !testproc.IsHelper() {
		return
	}
	cmd := brokerCommand()
	p, err := Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	testproc.HelperServe("kafka://"+p.Addrs()[0], cmd.Process.Pid)
}
