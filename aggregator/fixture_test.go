package aggregator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/internal/awsconf"
	"github.com/weirstream/weir/internal/moto"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/anomaly"
	"github.com/weirstream/weir/pipeline/contrib"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/pipeline/throughput"
	"github.com/weirstream/weir/sinks/cloudwatch"
	"github.com/weirstream/weir/sinks/file"
	"github.com/weirstream/weir/sinks/layout"
	s3sink "github.com/weirstream/weir/sinks/s3"
	"github.com/weirstream/weir/sources/demo"
)

// t0 is the start of the first window the tests write; period is the windows' length.
var (
	t0     = time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC)
	period = time.Minute
)

func win(i int) pipeline.Window {
	s := t0.Add(time.Duration(i) * period)
	return pipeline.Window{Start: s, End: s.Add(period)}
}

func windowConfig() pipeline.WindowConfig {
	w := pipeline.DefaultWindowConfig()
	w.Period = period
	return w
}

// newOperators builds the throughput operator and one contributor operator per example rule
// (examples/rules: a filtered count per tenant, a filtered sum per (tenant, user), a count per
// (method, path)), the way the worker builds them.
func newOperators(tb testing.TB, plan *decode.Plan, mut func(*contrib.Rule)) []pipeline.Operator {
	tb.Helper()
	files, err := filepath.Glob("../examples/rules/*.json")
	if err != nil || len(files) != 3 {
		tb.Fatalf("example rules: %v (%d files)", err, len(files))
	}
	rules, err := contrib.LoadFiles(files)
	if err != nil {
		tb.Fatal(err)
	}
	ops := []pipeline.Operator{throughput.New()}
	for _, r := range rules {
		if mut != nil {
			mut(r)
		}
		op, err := contrib.New(r, plan, contrib.Options{})
		if err != nil {
			tb.Fatal(err)
		}
		ops = append(ops, op)
	}
	return ops
}

// event is one synthetic access-log record: its window, partition and JSON document.
type event struct {
	window int
	doc    []byte
	user   int
}

// dataset returns n events per window for windows 0..windows-1: Zipf-distributed tenants and
// users (so the per-user rule has more contributors than counters), as the demo produces.
func dataset(windows, n int, seed uint64) []event {
	r := rand.New(rand.NewPCG(seed, 7))
	tenants, users := demo.NewZipf(200, 1.1), demo.NewZipf(20000, 1.05)
	var out []event
	for w := range windows {
		for i := range n {
			ts := win(w).Start.Add(time.Duration(i) * period / time.Duration(n))
			tenant, user := tenants.Draw(r)+1, users.Draw(r)+1
			status, bytes, method := 200, 200+r.IntN(4000), []string{"GET", "GET", "POST", "PUT"}[r.IntN(4)]
			if r.Float64() < 0.05 {
				status = 500 + r.IntN(4)
			}
			path := []string{"/api/v1/items", "/api/v1/orders", "/api/v1/search", "/healthz"}[r.IntN(4)]
			doc := fmt.Appendf(nil, `{"ts":%q,"tenant":"t-%04d","user":"u-%05d","method":%q,"path":%q,"status":%d,"bytes":%d}`,
				ts.Format(time.RFC3339Nano), tenant, user, method, path, status, bytes)
			out = append(out, event{window: w, doc: doc, user: user})
		}
	}
	return out
}

// partitionOf spreads events over n partitions by user, as a keyed producer would.
func partitionOf(e event, n int) pipeline.Partition {
	h := fnv.New32a()
	fmt.Fprint(h, e.user)
	return pipeline.Partition{Stream: "events", ID: fmt.Sprint(int(h.Sum32()) % n)}
}

// producer folds events into operator state per (partition, window) exactly as a runner
// does (decode the plan's fields, let every operator that reads the stream observe), and
// encodes each as a Partial.
type producer struct {
	plan *decode.Plan
	ops  []pipeline.Operator
}

func newProducer(tb testing.TB, mut func(*contrib.Rule)) *producer {
	plan := decode.NewPlan(decode.JSON)
	return &producer{plan: plan, ops: newOperators(tb, plan, mut)}
}

// partials returns the encoded partial of every (window, partition) of events spread over n
// partitions; every partition has a partial for every window (empty ones included).
func (pr *producer) partials(tb testing.TB, events []event, n, windows int) map[ref][]byte {
	tb.Helper()
	byKey := map[ref][]event{}
	for _, e := range events {
		k := ref{window: e.window, p: partitionOf(e, n)}
		byKey[k] = append(byKey[k], e)
	}
	out := map[ref][]byte{}
	for w := range windows {
		for i := range n {
			k := ref{window: w, p: pipeline.Partition{Stream: "events", ID: fmt.Sprint(i)}}
			out[k] = pr.partial(tb, k.p, win(w), byKey[k], int64(w)*1_000_000)
		}
	}
	return out
}

type ref struct {
	window int
	p      pipeline.Partition
}

func (pr *producer) partial(tb testing.TB, p pipeline.Partition, w pipeline.Window, events []event, offset int64) []byte {
	tb.Helper()
	states := make([]pipeline.State, len(pr.ops))
	for i, op := range pr.ops {
		if sel, ok := op.(pipeline.StreamSelector); ok && !sel.Reads(p.Stream) {
			continue
		}
		states[i] = op.NewState(p)
	}
	dec := pr.plan.NewDecoder()
	vals := make([]decode.Value, pr.plan.Len())
	pt := &pipeline.Partial{V: pipeline.PartialVersion, Stream: p.Stream, Partition: p.ID,
		Start: w.Start.UnixNano(), End: w.End.UnixNano()}
	for i, e := range events {
		if err := dec.Decode(e.doc, vals); err != nil {
			tb.Fatal(err)
		}
		rec := &pipeline.Record{Partition: p, Position: pipeline.Position{Offset: offset + int64(i)}, Value: e.doc}
		for _, st := range states {
			if st != nil {
				st.Observe(rec, vals)
			}
		}
		pt.Records++
		pt.Bytes += rec.Size()
		if i == 0 {
			pt.First = rec.Position
		}
		pt.Last = rec.Position
	}
	for i, st := range states {
		if st == nil {
			continue
		}
		os, err := pipeline.NewOpState(pr.ops[i], st)
		if err != nil {
			tb.Fatal(err)
		}
		pt.Ops = append(pt.Ops, os)
	}
	b, err := pipeline.EncodePartial(pt)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// writer is what the runtime writes partials with.
type writer interface {
	WritePartial(ctx context.Context, start time.Time, p pipeline.Partition, body []byte) error
}

// storeEnv is one kind of shared store (a directory, or S3 on moto) with the sinks the
// aggregator writes reports to, and a way to read the reports back.
type storeEnv struct {
	name    string
	store   Store
	writer  writer
	reports ReportSink
	// report returns the bytes of a global report object, or nil if there is none.
	report func(t testing.TB, kind, name string, w pipeline.Window) []byte
	// keys lists every object key under the store's root.
	keys func(t testing.TB) []string
}

func (e *storeEnv) write(t testing.TB, parts map[ref][]byte, which func(ref) bool) {
	t.Helper()
	keys := slices.SortedFunc(func(yield func(ref) bool) {
		for k := range parts {
			if !yield(k) {
				return
			}
		}
	}, func(a, b ref) int {
		if a.window != b.window {
			return a.window - b.window
		}
		return pipeline.ComparePartitions(a.p, b.p)
	})
	for _, k := range keys {
		if which == nil || which(k) {
			if err := e.writer.WritePartial(context.Background(), win(k.window).Start, k.p, parts[k]); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func fileEnv(t testing.TB) *storeEnv {
	dir := t.TempDir()
	s, err := file.New(file.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ps := s.PartialStore()
	return &storeEnv{
		name: "file", store: ps, writer: ps, reports: s,
		report: func(t testing.TB, kind, name string, w pipeline.Window) []byte {
			b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(layout.ReportKey(kind, name, w, "", false))))
			if os.IsNotExist(err) {
				return nil
			}
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
		keys: func(t testing.TB) []string {
			var keys []string
			_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					rel, _ := filepath.Rel(dir, path)
					keys = append(keys, filepath.ToSlash(rel))
				}
				return nil
			})
			return keys
		},
	}
}

// s3Requests counts the S3 calls a client made, by operation name.
type s3Requests struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *s3Requests) option() func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Initialize.Add(middleware.InitializeMiddlewareFunc("weir-count",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					c.mu.Lock()
					c.n[awsmiddleware.GetOperationName(ctx)]++
					c.mu.Unlock()
					return next.HandleInitialize(ctx, in)
				}), middleware.After)
		})
	}
}

func (c *s3Requests) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = map[string]int{}
	return n
}

// s3Env is a store in a fresh bucket on moto. The aggregator's client counts its requests
// in counts; the partials are written through another client, as other workers would.
func s3Env(t testing.TB, counts *s3Requests) *storeEnv {
	srv := moto.Start(t)
	conf := awsconf.Config{Endpoint: srv.Endpoint(), Region: "us-east-1", LocalCredentials: true}
	awsCfg, err := conf.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	const bucket = "weir-fleet"
	reader := s3sink.NewClient(awsCfg, &conf)
	if _, err := reader.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	cfg := s3sink.Config{Bucket: bucket, Prefix: "weir", Gzip: aws.Bool(false),
		Retry: awsconf.Retry{InitialBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}}
	cfg.ApplyDefaults()
	var opts []func(*s3.Options)
	if counts != nil {
		opts = append(opts, counts.option())
	}
	aggClient := s3sink.NewClient(awsCfg, &conf, opts...)
	agg, err := s3sink.New(aggClient, cfg, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	workers, err := s3sink.New(reader, cfg, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &storeEnv{
		name: "s3", store: agg.PartialStore(aggClient), writer: workers.PartialStore(reader), reports: agg,
		report: func(t testing.TB, kind, name string, w pipeline.Window) []byte {
			out, err := reader.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket),
				Key: aws.String("weir/" + layout.ReportKey(kind, name, w, "", false))}, func(o *s3.Options) { o.DisableLogOutputChecksumValidationSkipped = true })
			if err != nil {
				if strings.Contains(err.Error(), "NoSuchKey") {
					return nil
				}
				t.Fatal(err)
			}
			defer out.Body.Close()
			b, err := io.ReadAll(out.Body)
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
		keys: func(t testing.TB) []string {
			var keys []string
			p := s3.NewListObjectsV2Paginator(reader, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
			for p.HasMorePages() {
				page, err := p.NextPage(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range page.Contents {
					keys = append(keys, strings.TrimPrefix(aws.ToString(o.Key), "weir/"))
				}
			}
			return keys
		},
	}
}

// eachStore runs fn against a directory and against S3 on moto.
func eachStore(t *testing.T, fn func(t *testing.T, env *storeEnv)) {
	t.Run("file", func(t *testing.T) { fn(t, fileEnv(t)) })
	t.Run("s3", func(t *testing.T) { fn(t, s3Env(t, nil)) })
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// fixedPartitions is a partition source with a fixed set: Kafka topic metadata, in effect.
type fixedPartitions []pipeline.Partition

func (f fixedPartitions) Partitions(context.Context) ([]pipeline.Partition, error) { return f, nil }

func partitions(n int) fixedPartitions {
	var ps fixedPartitions
	for i := range n {
		ps = append(ps, pipeline.Partition{Stream: "events", ID: fmt.Sprint(i)})
	}
	return ps
}

// testLeadership hands out terms on demand: the test decides who leads.
type testLeadership struct{ ch chan Term }

func newTestLeadership() *testLeadership { return &testLeadership{ch: make(chan Term)} }

func (l *testLeadership) Acquired() <-chan Term { return l.ch }

// grant makes the aggregator leader with token until the returned cancel is called.
func (l *testLeadership) grant(t testing.TB, token int64) context.CancelFunc {
	ctx, cancel := context.WithCancel(context.Background())
	select {
	case l.ch <- Term{Ctx: ctx, Token: token}:
	case <-time.After(10 * time.Second):
		t.Fatal("the aggregator did not take the term")
	}
	return cancel
}

// published records every Output a metric sink was asked to publish, in front of a real
// sink (EMF lines into a buffer) that validates them.
type published struct {
	mu      sync.Mutex
	next    MetricSink
	windows map[time.Time]int
	outs    []*pipeline.Output
	after   func(out *pipeline.Output) // runs after each successful publish, if set
}

func newPublished(t testing.TB) *published {
	var buf bytes.Buffer
	cfg := cloudwatch.Config{Mode: cloudwatch.ModeEMF, Namespace: "WeirTest"}
	cfg.ApplyDefaults()
	emf, err := cloudwatch.NewEMF(&buf, cfg, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &published{next: emf, windows: map[time.Time]int{}}
}

func (p *published) Write(ctx context.Context, out *pipeline.Output) error {
	if err := p.next.Write(ctx, out); err != nil {
		return err
	}
	p.mu.Lock()
	p.windows[out.Window.Start]++
	p.outs = append(p.outs, out)
	after := p.after
	p.mu.Unlock()
	if after != nil {
		after(out)
	}
	return nil
}

func (p *published) count(w pipeline.Window) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.windows[w.Start]
}

// options returns Options for an aggregator over env with the given clock (nil: time.Now)
// and the real anomaly analyzer (its detectors saved in the aggregator's state).
func options(t testing.TB, env *storeEnv, ps PartitionSource, lead Leadership, pub MetricSink, now func() time.Time) Options {
	plan := decode.NewPlan(decode.JSON)
	cfg := Config{}
	cfg.ApplyDefaults(windowConfig())
	return Options{
		Config: cfg, Window: windowConfig(), Store: env.store, Partitions: ps, Leadership: lead,
		Operators: newOperators(t, plan, nil), Reports: []ReportSink{env.reports}, Metrics: pub,
		NewAnalyzers: func(store SnapshotStore, reg prometheus.Registerer) ([]pipeline.Analyzer, error) {
			ac := anomaly.DefaultConfig()
			ac.WarmUp = 1 // a fresh analyzer skips its first window: warm from window 2 on
			an, err := anomaly.NewAnalyzer(ac, store, reg, nil)
			if err != nil {
				return nil, err
			}
			return []pipeline.Analyzer{an}, nil
		},
		Registerer: prometheus.NewRegistry(), Logger: testLogger(t), Now: now,
	}
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// summaryOf decodes the fleet summary of w, or fails.
func summaryOf(t testing.TB, env *storeEnv, w pipeline.Window) Summary {
	t.Helper()
	b := env.report(t, "summary", SummaryName, w)
	if b == nil {
		t.Fatalf("%s: no fleet summary for %v", env.name, w.Start)
	}
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("fleet summary %s: %v", b, err)
	}
	return s
}
