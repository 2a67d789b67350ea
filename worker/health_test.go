package worker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/internal/workerproc"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
)

// healthWorker is a worker under a health test: its endpoints, and its log.
type healthWorker struct {
	*Assembly
	base string
	logs *workerproc.Output
}

// startHealthWorker runs a Kafka worker on c with short health timeouts (source 2s, sink 1s,
// stall 4s); edit, if set, changes its config and deps first.
func startHealthWorker(t *testing.T, c *kfake.Cluster, group string, edit func(*Config, *Deps)) *healthWorker {
	t.Helper()
	cfg := kafkaConfig(c, group, t.TempDir())
	cfg.Window.AllowedLateness, cfg.Window.IdleTimeout = 0, 300*time.Millisecond
	cfg.Lag.Interval, cfg.Lag.Window = 200*time.Millisecond, 3*time.Second
	cfg.Health = HealthConfig{StallTimeout: 4 * time.Second, SinkTimeout: time.Second, SourceTimeout: 2 * time.Second}
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.ShutdownTimeout = 3 * time.Second
	logs := &workerproc.Output{}
	deps := Deps{Logger: slog.New(slog.NewTextHandler(logs, nil)), Registry: testDeps().Registry}
	if edit != nil {
		edit(&cfg, &deps)
	}
	w, stop := runWorker(t, cfg, deps)
	t.Cleanup(func() { _ = stop() }) // the drain may fail: a test may have taken the broker away
	return &healthWorker{Assembly: w, base: "http://" + w.srv.addr(), logs: logs}
}

// status GETs path and returns the status code and body.
func (w *healthWorker) status(path string) (int, string) { return get(w.base + path) }

// await polls path until it answers code with a body containing want.
func (w *healthWorker) await(t *testing.T, path string, code int, want string, within time.Duration) time.Duration {
	t.Helper()
	return awaitStatus(t, w.base+path, code, want, within)
}

func kgoClient(t *testing.T, brokers []string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func produceNow(t *testing.T, cl *kgo.Client, parts int32, n int) {
	t.Helper()
	var recs []*kgo.Record
	for p := range parts {
		for i := range n {
			recs = append(recs, &kgo.Record{Topic: "events", Partition: p, Value: fmt.Appendf(nil, `{"i":%d}`, i)})
		}
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// Brokers that go away make the worker not ready within source_timeout, and it is ready again
// once they are back; liveness is untouched (nothing is behind, and a restart cannot bring a
// broker back).
func TestReadinessFollowsTheBrokers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	start := func() *kfake.Cluster {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.SeedTopics(2, "events"))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := start()
	w := startHealthWorker(t, c, "away", nil)
	if code, body := w.status("/readyz"); code != http.StatusServiceUnavailable && !strings.Contains(body, "not a member") {
		t.Logf("right after the start: %d %q", code, body)
	}
	w.await(t, "/readyz", http.StatusOK, "ready", 15*time.Second)

	c.Close()
	took := w.await(t, "/readyz", http.StatusServiceUnavailable, "kafka: no broker has answered for", 10*time.Second)
	t.Logf("not ready %v after the broker went away (source_timeout 2s)", took.Round(time.Millisecond))
	if code, body := w.status("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz %d %q with the broker away and nothing behind, want 200", code, body)
	}

	c = start()
	defer c.Close()
	w.await(t, "/readyz", http.StatusOK, "ready", 30*time.Second)
}

// A fetch refused for authorization makes the worker not ready, naming the refusal, and is
// logged once per 10s, not once per partition per fetch (franz-go retries such fetches every
// few hundred milliseconds). Once fetching is allowed again, the worker is ready within
// source_timeout.
func TestFetchAuthorizationErrorsNotReadyAndRateLimited(t *testing.T) {
	const parts = 4
	c, cl := newTopic(t, parts)
	produceNow(t, cl, parts, 10)
	var deny atomic.Bool
	c.ControlKey(kmsg.Fetch.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if !deny.Load() {
			return nil, nil, false
		}
		fr := req.(*kmsg.FetchRequest)
		resp := fr.ResponseKind().(*kmsg.FetchResponse)
		for _, rt := range fr.Topics {
			st := kmsg.NewFetchResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewFetchResponseTopicPartition()
				sp.Partition, sp.ErrorCode = rp.Partition, kerr.TopicAuthorizationFailed.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	w := startHealthWorker(t, c, "denied", nil)
	w.await(t, "/readyz", http.StatusOK, "ready", 15*time.Second)

	deny.Store(true)
	w.await(t, "/readyz", http.StatusServiceUnavailable, "kafka: fetching is not authorized", 10*time.Second)
	time.Sleep(3 * time.Second) // franz-go keeps fetching and failing
	errs := metrictest.Sum(t, w.reg, "weir_kafka_fetch_errors_total", nil)
	lines := strings.Count(string(w.logs.Bytes()), "fetch error")
	t.Logf("%v fetch errors, %d log lines", errs, lines)
	if errs < 2*parts {
		t.Fatalf("only %v fetch errors: the refusal was not retried, the test proves nothing", errs)
	}
	if lines > 2 {
		t.Errorf("%d fetch-error log lines for %v errors, want at most 2 (rate-limited)", lines, errs)
	}

	deny.Store(false)
	took := w.await(t, "/readyz", http.StatusOK, "ready", 15*time.Second)
	t.Logf("ready again %v after fetching was allowed", took.Round(time.Millisecond))
}

// failingPartials fails every partial written while fail is set.
type failingPartials struct {
	pipeline.PartialWriter
	fail *atomic.Bool
}

func (s failingPartials) WritePartial(ctx context.Context, start time.Time, p pipeline.Partition, body []byte) error {
	if s.fail.Load() {
		return fmt.Errorf("injected: %w", io.ErrClosedPipe)
	}
	return s.PartialWriter.WritePartial(ctx, start, p, body)
}

// The partial store failing every write: not ready after sink_timeout (1s), then, with the records it
// holds back counted as lag and nothing moving, not live after stall_timeout (4s); both
// recover when the sink does.
func TestFailingSinkNotReadyThenNotLive(t *testing.T) {
	const parts = 2
	c, cl := newTopic(t, parts)
	var fail atomic.Bool
	w := startHealthWorker(t, c, "sinkfail", func(_ *Config, d *Deps) {
		d.Hooks.WrapPartials = func(s pipeline.PartialWriter) pipeline.PartialWriter {
			return failingPartials{PartialWriter: s, fail: &fail}
		}
	})
	produceNow(t, cl, parts, 100)
	w.await(t, "/readyz", http.StatusOK, "ready", 15*time.Second)

	fail.Store(true)
	produceNow(t, cl, parts, 100)
	notReady := w.await(t, "/readyz", http.StatusServiceUnavailable, "every write has failed for", 15*time.Second)
	if code, _ := w.status("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz %d as soon as the sink failed, want 200 until stall_timeout", code)
	}
	notLive := w.await(t, "/healthz", http.StatusServiceUnavailable, "stalled: no record processed and no window made durable", 20*time.Second)
	t.Logf("sink failing: not ready after %v, not live %v later", notReady.Round(time.Millisecond), notLive.Round(time.Millisecond))
	if live := metrictest.Sum(t, w.reg, "weir_health_live", nil); live != 0 {
		t.Errorf("weir_health_live = %v while /healthz fails", live)
	}

	fail.Store(false)
	w.await(t, "/healthz", http.StatusOK, "ok", 60*time.Second)
	w.await(t, "/readyz", http.StatusOK, "ready", 10*time.Second)
	problems, err := testutil.CollectAndLint(w.health.collector())
	if err != nil || len(problems) > 0 {
		t.Errorf("health metrics lint: %v %v", problems, err)
	}
}

// blockingOp is an operator whose Observe blocks while block is set: a stuck runner. blocked,
// if set, counts the Observe calls that found it set.
type blockingOp struct{ block, blocked *atomic.Int64 }

func (blockingOp) Name() string { return "blocking" }
func (o blockingOp) NewState(pipeline.Partition) pipeline.State {
	return &blockingState{block: o.block, blocked: o.blocked}
}

type blockingState struct {
	block, blocked *atomic.Int64
}

func (s *blockingState) Observe(*pipeline.Record, []decode.Value) {
	if s.block.Load() != 0 && s.blocked != nil {
		s.blocked.Add(1)
	}
	for s.block.Load() != 0 {
		time.Sleep(10 * time.Millisecond)
	}
}
func (s *blockingState) Merge(pipeline.State) error             { return nil }
func (s *blockingState) Emit(pipeline.Window, *pipeline.Output) {}
func (s *blockingState) EncodeMsgpack(e *msgpack.Encoder) error { return e.EncodeNil() }
func (s *blockingState) DecodeMsgpack(d *msgpack.Decoder) error { return d.Skip() }

// A runner stuck in an operator, with records behind it: not live after stall_timeout, and
// live again once it moves. A worker with nothing to do stays live however long nothing moves.
func TestStuckRunnerNotLive(t *testing.T) {
	const parts = 2
	c, cl := newTopic(t, parts)
	var block, blocked atomic.Int64
	w := startHealthWorker(t, c, "stuck", func(cfg *Config, d *Deps) {
		d.Hooks.Operators = []pipeline.Operator{blockingOp{block: &block, blocked: &blocked}}
		// The partitions are quiet until the records come, and a quiet partition's watermark
		// follows the wall clock: with no allowed lateness, a record that took longer to
		// arrive than was left of its second (a loaded machine) was late, dead-lettered, never
		// seen by the operator, and nothing was stuck. 2s is as much as stall_timeout (4s)
		// allows with one-second windows.
		cfg.Window.AllowedLateness = 2 * time.Second
	})
	t.Cleanup(func() { block.Store(0) }) // before the drain (cleanups run last first): it waits for the runner
	w.await(t, "/readyz", http.StatusOK, "ready", 15*time.Second)
	time.Sleep(5 * time.Second) // longer than stall_timeout with nothing to do
	if code, body := w.status("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz %d %q idle with nothing behind, want 200", code, body)
	}

	block.Store(1)
	produceNow(t, cl, parts, 50)
	for deadline := time.Now().Add(20 * time.Second); blocked.Load() < parts; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 20s %d of %d runners are stuck in the operator; %+v", blocked.Load(), parts, w.Stats())
		}
	}
	w.await(t, "/healthz", http.StatusServiceUnavailable, "records not yet committed", 20*time.Second)
	w.await(t, "/readyz", http.StatusServiceUnavailable, "stalled", time.Second)
	block.Store(0)
	w.await(t, "/healthz", http.StatusOK, "ok", 10*time.Second)
}

// More workers than partitions: the one that owns nothing is a member with nothing to do, and
// ready (see kafka.Source.Ready).
func TestIdleMemberIsReady(t *testing.T) {
	c, _ := newTopic(t, 1)
	a := startHealthWorker(t, c, "more-workers", nil)
	a.await(t, "/readyz", http.StatusOK, "ready", 20*time.Second)
	b := startHealthWorker(t, c, "more-workers", nil)
	if code, body := b.status("/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("the second worker, just started: %d %q, want 503 until it has joined", code, body)
	}
	adm := kadm.NewClient(kgoClient(t, c.ListenAddrs()))
	deadline := time.Now().Add(20 * time.Second)
	for {
		gs, err := adm.DescribeGroups(context.Background(), "more-workers")
		if err == nil && gs["more-workers"].State == "Stable" && len(gs["more-workers"].Members) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the group did not settle with both workers: %v %v", gs, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.await(t, "/readyz", http.StatusOK, "ready", 10*time.Second)
	b.await(t, "/readyz", http.StatusOK, "ready", 10*time.Second)
	if pa, pb := a.Stats().Partitions, b.Stats().Partitions; pa+pb != 1 || pa*pb != 0 {
		t.Errorf("partitions %d and %d, want the one partition on one worker", pa, pb)
	}
}
