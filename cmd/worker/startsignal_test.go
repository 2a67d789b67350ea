package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/internal/kinesalite"
	"github.com/weirstream/weir/internal/moto"
	"github.com/weirstream/weir/internal/workerproc"
)

// A SIGTERM at any point of the start-up (an ECS scale-in right after a start, a fleet stopped
// while a worker restarts) ends the process cleanly and quickly: exit 0, within startStopLimit,
// and nothing committed that is not durable. In the Kinesis chaos trials workers stopped this
// way exited 1 ("startup failed: context canceled") or died by the signal itself (it came
// before the handler was installed, while the configuration loaded).

// startStopLimit bounds the exit after a SIGTERM during the start-up: the shutdown deadline
// is for draining work, and a worker that is still starting has none.
const startStopLimit = 10 * time.Second

// startPoint is when, in a start-up, the SIGTERM is sent: after after, once the worker's log
// has shown msg (JSON logs: `"msg":"…"`); or, with fifo, while the worker reads its
// configuration file (a named pipe the test writes only after the signal).
type startPoint struct {
	fifo  bool
	msg   string
	after time.Duration
}

func (p startPoint) String() string {
	if p.fifo {
		return "reading the config"
	}
	s := "after " + strings.Fields(p.msg)[0]
	if p.after > 0 {
		s += "+" + p.after.String()
	}
	return s
}

// startPoints are the moments of a start-up: reading the configuration, the configuration
// loaded and the memory limit applied ("memory", the first line logged), the clients and
// sinks built ("load reports"), the HTTP server serving, the source's first membership
// (joined: more, per source), and delays after those for the steps that log nothing
// (connecting, the group join, the lease table's checks).
//
// A SIGTERM before the process runs main (its first tens of milliseconds, while the Go
// runtime and the packages initialise; longer on a loaded host) ends it by the signal's
// default action, as for any Go program: no point here is that early.
func startPoints(joined string) []startPoint {
	return []startPoint{{fifo: true}, {msg: "memory"}, {msg: "memory", after: 20 * time.Millisecond},
		{msg: "load reports"}, {msg: "load reports", after: 20 * time.Millisecond},
		{msg: "serving /metrics, /healthz, /readyz"}, {msg: "serving /metrics, /healthz, /readyz", after: 100 * time.Millisecond},
		{msg: joined}, {msg: joined, after: 300 * time.Millisecond}}
}

// termDuringStart starts the worker with env, sends SIGTERM at p, and checks the exit.
func termDuringStart(t *testing.T, bin string, env []string, p startPoint) {
	t.Helper()
	dir := workerproc.Writable(t)
	var args []string
	opened := make(chan *os.File, 1)
	if p.fifo {
		path := filepath.Join(workerproc.Shared(t), "weir.yaml")
		if err := syscall.Mkfifo(path, 0o644); err != nil {
			t.Fatal(err)
		}
		args = []string{"-config", path}
		go func() {
			// Opening the write end returns once the worker has opened the read end.
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Error(err)
				f = nil
			}
			opened <- f
		}()
	}
	w := workerproc.Start(t, bin, dir, env, args...)
	var took time.Duration
	var err error
	var exited bool
	if p.fifo {
		f := <-opened
		if f == nil {
			return
		}
		start := time.Now()
		if err := w.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		// The rest of the configuration, once the signal is sent: the worker goes on with it
		// taken.
		_, _ = f.WriteString("summary: \"off\"\n")
		f.Close()
		err, exited = w.Wait(startStopLimit)
		took = time.Since(start)
	} else {
		want := fmt.Sprintf(`"msg":%q`, p.msg)
		for deadline := time.Now().Add(60 * time.Second); !strings.Contains(string(w.Stderr.Bytes()), want); time.Sleep(2 * time.Millisecond) {
			if err, exited := w.Wait(0); exited || time.Now().After(deadline) {
				t.Fatalf("no %q logged (exited %v: %v); stderr:\n%s", p.msg, exited, err, w.Stderr.Tail(30))
			}
		}
		time.Sleep(p.after)
		took, err, exited = w.Terminate(startStopLimit)
	}
	switch {
	case !exited:
		t.Errorf("SIGTERM %v: no exit within %v; stderr:\n%s", p, startStopLimit, w.Stderr.Tail(30))
	case err != nil:
		t.Errorf("SIGTERM %v: %v after %v, want exit 0; stderr:\n%s", p, err, took.Round(time.Millisecond), w.Stderr.Tail(30))
	default:
		t.Logf("SIGTERM %v: exit 0 after %v", p, took.Round(time.Millisecond))
	}
}

func TestSIGTERMDuringStartKafka(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary, starts it a dozen times")
	}
	bin := workerproc.Build(t, ".")
	brokers := startBroker(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	// Records to read from the start: a worker that got as far as fetching has work in
	// flight, and must not commit it (its windows are a minute long: none closes, none is
	// durable, before the SIGTERM).
	var recs []*kgo.Record
	for p := range int32(4) {
		for i := range 200 {
			recs = append(recs, &kgo.Record{Topic: "events", Partition: p, Value: fmt.Appendf(nil, `{"i":%d}`, i)})
		}
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	for i, p := range startPoints("partitions assigned") {
		t.Run(p.String(), func(t *testing.T) {
			group := fmt.Sprintf("start-%d", i)
			dir := workerproc.Writable(t)
			termDuringStart(t, bin, []string{"HOME=/nonexistent",
				"WEIR_SOURCE_KIND=kafka", "WEIR_SOURCE_KAFKA_BROKERS=" + strings.Join(brokers, ","),
				"WEIR_SOURCE_KAFKA_TOPICS=events", "WEIR_SOURCE_KAFKA_GROUP=" + group,
				"WEIR_SINKS_FILE_DIR=" + dir, "WEIR_SINKS_CLOUDWATCH_EMF_PATH=" + dir + "/metrics.emf",
				"WEIR_HTTP_ADDR=" + workerproc.FreeAddr(t), "WEIR_SUMMARY=off", "WEIR_LOG_FORMAT=json",
				"WEIR_SHUTDOWN_TIMEOUT=30s"}, p)
			offs, err := kadm.NewClient(cl).FetchOffsets(context.Background(), group)
			if errors.Is(err, kerr.GroupIDNotFound) {
				return // never joined: nothing committed
			}
			if err != nil {
				t.Fatal(err)
			}
			offs.Each(func(o kadm.OffsetResponse) {
				if o.At > 0 {
					t.Errorf("%s/%d committed at %d: nothing was durable", o.Topic, o.Partition, o.At)
				}
			})
		})
	}
}

func TestSIGTERMDuringStartKinesis(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary, starts it a dozen times")
	}
	bin := workerproc.Build(t, ".")
	mt, kl := moto.Start(t), kinesalite.Start(t)
	kl.Stream(t, "events", 2, 200)
	for i, p := range startPoints("lease taken") {
		t.Run(p.String(), func(t *testing.T) {
			dir := workerproc.Writable(t)
			// Each start its own lease table: the first start creates it, as a new
			// deployment's first task does, and a SIGTERM can land in that too.
			termDuringStart(t, bin, []string{"HOME=/nonexistent",
				"WEIR_SOURCE_KIND=kinesis", "WEIR_SOURCE_KINESIS_STREAM=events",
				fmt.Sprintf("WEIR_SOURCE_KINESIS_LEASE_TABLE=start-%d", i), "WEIR_SOURCE_KINESIS_WORKER_ID=w",
				"WEIR_AWS_LOCAL_CREDENTIALS=true", "WEIR_AWS_REGION=us-east-1",
				"WEIR_AWS_ENDPOINTS_KINESIS=" + kl.Endpoint(), "WEIR_AWS_ENDPOINTS_DYNAMODB=" + mt.Endpoint(),
				"WEIR_SINKS_FILE_DIR=" + dir, "WEIR_SINKS_CLOUDWATCH_EMF_PATH=" + dir + "/metrics.emf",
				"WEIR_HTTP_ADDR=" + workerproc.FreeAddr(t), "WEIR_SUMMARY=off", "WEIR_LOG_FORMAT=json",
				"WEIR_SHUTDOWN_TIMEOUT=30s"}, p)
		})
	}
}
