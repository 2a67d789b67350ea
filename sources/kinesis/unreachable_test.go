package kinesis_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/weirstream/weir/internal/kinesalite"
	"github.com/weirstream/weir/internal/moto"
)

// blackhole is a DynamoDB endpoint that accepts connections and never answers (a stuck proxy,
// a peer gone without a reset): every call waits until its context ends.
func blackhole(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() { _, _ = io.Copy(io.Discard, c) }() // read the request, answer nothing
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + l.Addr().String()
}

// unanswering passes DynamoDB calls through until cut is set; from then on every call but the
// spared operations waits, unanswered, until its context ends: DynamoDB gone unreachable under
// a running worker.
type unanswering struct {
	next    aws.HTTPClient
	spare   []string // operations still answered (e.g. "DescribeTable": the start-up check)
	cut     atomic.Bool
	waiting atomic.Int64 // calls waiting now
}

func (u *unanswering) Do(req *http.Request) (*http.Response, error) {
	op := strings.TrimPrefix(req.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")
	if !u.cut.Load() || slices.Contains(u.spare, op) {
		return u.next.Do(req)
	}
	u.waiting.Add(1)
	defer u.waiting.Add(-1)
	<-req.Context().Done()
	return nil, req.Context().Err()
}

// refused is an endpoint that refuses connections: a closed port.
func refused(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "http://" + l.Addr().String()
}

// An endpoint that cannot be reached at start (Kinesis for the stream check, DynamoDB for the
// lease table's), whether it refuses connections or accepts them and never answers: the first
// failed attempt is logged at once (one that is not answered within its 5 s), saying what is
// retried and until when, not two minutes of silence and then an exit; and Run returns as soon
// as it is stopped.
func TestUnreachableEndpointsLoggedAtOnce(t *testing.T) {
	srv := moto.Start(t)
	for i, tc := range []struct {
		name, what, op string
		endpoint       func(*testing.T) string
	}{
		{"lease table refusing", "the lease table leases-unreachable", "DescribeTable", refused},
		{"lease table not answering", "the lease table leases-unreachable", "DescribeTable", blackhole},
		{"stream not answering", "the stream", "DescribeStreamSummary", blackhole},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream := fmt.Sprintf("unreachable-%d", i) // one moto for every case
			e := newEnv(t, srv.Endpoint(), srv.Endpoint())
			ddbCfg := awsConfig(t, tc.endpoint(t))
			if tc.op == "DescribeStreamSummary" {
				e = newEnv(t, tc.endpoint(t), srv.Endpoint())
				ddbCfg = e.ddbCfg
			} else {
				e.createStream(t, stream, 1)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			start := time.Now()
			logs, done := e.startSource(t, ctx, ddbCfg, testConfig(stream, "leases-unreachable", "a"))
			waitUntil(t, 20*time.Second, "the unreachable endpoint logged", func() bool {
				return strings.Contains(logs.String(), "cannot reach "+tc.what+" at start; retrying")
			})
			t.Logf("logged %v after start: %s", time.Since(start).Round(time.Millisecond), logs.String())
			if line := logs.String(); !strings.Contains(line, "op="+tc.op) || !strings.Contains(line, "retrying_until=") ||
				!strings.Contains(line, "reason=network") {
				t.Errorf("the log line does not say what is retried and until when: %s", line)
			}
			cancel()
			select {
			case err := <-done:
				if err == nil {
					t.Error("Run returned no error with an endpoint it never reached")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return within 5s of its context ending")
			}
		})
	}
}

// DynamoDB gone unanswering under a running worker, while it takes and renews leases: the
// shutdown still ends within its deadline (Run at once, Close by its context), saying why the
// leases were not released; they expire, as after a crash.
func TestShutdownWhileDynamoDBDoesNotAnswer(t *testing.T) {
	kl := kinesalite.Start(t)
	ddb := moto.Start(t)
	e := newEnv(t, kl.Endpoint(), ddb.Endpoint())
	const stream, shards = "unanswered-run", 2
	e.createStream(t, stream, shards)
	un := &unanswering{next: e.ddbCfg.HTTPClient}
	le := e.withDynamoDB(un)
	p := newProducer(e, stream, 8)
	st := newStore()
	logs := &logBuffer{}
	w := le.startWorker(t, stream, st, workerOpts{id: "a", logs: logs})
	waitUntil(t, 30*time.Second, "both leases held", func() bool { return len(w.src.Held()) == shards }, w)
	p.put(t, 5)
	waitUntil(t, 60*time.Second, "every record durable", func() bool { return st.Distinct() == p.total() }, w)

	un.cut.Store(true)
	waitUntil(t, 10*time.Second, "lease calls waiting on DynamoDB", func() bool { return un.waiting.Load() > 0 }, w)
	const deadline = 4 * time.Second
	start := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- w.StopWithin(t, deadline) }()
	select {
	case err := <-stopped:
		took := time.Since(start)
		t.Logf("stopped in %v: %v", took.Round(time.Millisecond), err)
		if err == nil || !strings.Contains(err.Error(), "releasing lease") {
			t.Errorf("Close: %v, want the leases it could not release named", err)
		}
	case <-time.After(deadline + 5*time.Second):
		t.Fatalf("the worker did not stop within %v of a %v shutdown deadline; calls waiting %d", 5*time.Second, deadline, un.waiting.Load())
	}
	if l := logs.String(); !strings.Contains(l, `msg="lease not released; it expires after lease_duration`) {
		t.Errorf("the leases not released at shutdown are not logged:\n%s", l)
	}
}

// DynamoDB stops answering right after the start-up check (every lease table call but
// DescribeTable waits unanswered): the worker takes nothing, says so within LeaseDuration
// (before, its first shard sync waited silently until shutdown), and stops at once.
func TestLeaseTableUnansweredAfterStartIsLogged(t *testing.T) {
	kl := kinesalite.Start(t)
	ddb := moto.Start(t)
	e := newEnv(t, kl.Endpoint(), ddb.Endpoint())
	const stream, table = "unanswered-start", "leases-unanswered-start"
	e.createStream(t, stream, 1)
	// The table exists (as in a fleet that ran before), so the start-up check passes on
	// DescribeTable alone.
	wd := e.startWorker(t, stream, newStore(), workerOpts{id: "creator", table: table})
	waitUntil(t, 30*time.Second, "the lease table created and the lease taken", func() bool { return len(wd.src.Held()) == 1 }, wd)
	wd.Stop(t)

	un := &unanswering{next: e.ddbCfg.HTTPClient, spare: []string{"DescribeTable"}}
	un.cut.Store(true)
	le := e.withDynamoDB(un)
	logs := &logBuffer{}
	w := le.startWorker(t, stream, newStore(), workerOpts{id: "a", table: table, logs: logs})
	start := time.Now()
	waitUntil(t, 15*time.Second, "the unanswering lease table logged", func() bool {
		l := logs.String()
		return strings.Contains(l, `msg="shard sync failed; retrying"`) || strings.Contains(l, `msg="scanning the lease table failed"`)
	}, w)
	t.Logf("logged %v after start", time.Since(start).Round(time.Millisecond))
	if n := len(w.src.Held()); n != 0 {
		t.Errorf("%d leases held with every lease table write unanswered", n)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- w.StopWithin(t, 4*time.Second) }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("Close with no lease held: %v", err)
		}
	case <-time.After(9 * time.Second):
		t.Fatalf("the worker did not stop within 9s of a 4s shutdown deadline; calls waiting %d", un.waiting.Load())
	}
}
