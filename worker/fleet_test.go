package worker

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/aggregator"
	"github.com/weirstream/weir/internal/awsconf"
	"github.com/weirstream/weir/internal/moto"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/sinks/file/filetest"
	"github.com/weirstream/weir/sinks/s3"
)

// accessLogs produces parts × perPartition access-log records into the topic, event times
// spread evenly over windows one-second windows from start, with tenants, users and paths for
// the contributor rules.
func accessLogs(t *testing.T, cl *kgo.Client, parts int32, perPartition, windows int, start time.Time) {
	t.Helper()
	var recs []*kgo.Record
	step := time.Duration(windows) * time.Second / time.Duration(perPartition)
	for p := range parts {
		for i := range perPartition {
			k := int(p)*perPartition + i
			ts := start.Add(time.Duration(i) * step)
			recs = append(recs, &kgo.Record{Topic: "events", Partition: p, Timestamp: ts,
				Value: fmt.Appendf(nil, `{"ts":%q,"tenant":"t-%02d","user":"u-%03d","path":"/api/%d","status":%d,"bytes":%d}`,
					ts.Format(time.RFC3339Nano), k*7%23, k*31%211, k%13, 200+300*(k%17/16), 100+k%900)})
		}
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// closeWindows appends to every partition a record stamped a second past end, beyond the
// allowed lateness: it closes every window before end by event time, as later traffic would,
// where a quiet partition's windows would close by the wall clock at times no two runs share
// (and a record arriving after that is late in one run, on time in a replay of the backlog).
func closeWindows(t *testing.T, cl *kgo.Client, parts int32, end time.Time) {
	t.Helper()
	var recs []*kgo.Record
	ts := end.Add(time.Second)
	for p := range parts {
		recs = append(recs, &kgo.Record{Topic: "events", Partition: p, Timestamp: ts,
			Value: fmt.Appendf(nil, `{"ts":%q,"tenant":"t-close","user":"u-close","path":"/close","status":200,"bytes":1}`, ts.Format(time.RFC3339Nano))})
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// fleetConfig is a worker of a fleet reading the topic as group, writing to the bucket under
// prefix, its EMF lines to emf: one-second windows closed promptly once the partitions are
// quiet, the example contributor rules.
func fleetConfig(t *testing.T, srv *moto.Server, brokers []string, group, prefix, emf string) Config {
	cfg := testConfig("")
	cfg.Sinks.File.Dir = ""
	cfg.Sinks.S3.Bucket, cfg.Sinks.S3.Prefix = "weir", prefix
	cfg.Sinks.CloudWatch.EMF.Path = emf
	cfg.AWS = awsconf.Config{Endpoint: srv.Endpoint(), LocalCredentials: true}
	cfg.Source.Kind = "kafka"
	cfg.Source.Kafka.Brokers, cfg.Source.Kafka.Topics, cfg.Source.Kafka.Group = brokers, []string{"events"}, group
	cfg.Source.Kafka.SessionTimeout, cfg.Source.Kafka.RebalanceTimeout = 6*time.Second, 10*time.Second
	cfg.Source.Kafka.RevokeTimeout, cfg.Source.Kafka.RevokeCommitTimeout = 2*time.Second, time.Second
	cfg.Window.TimeField, cfg.Window.AllowedLateness, cfg.Window.IdleTimeout = "$.ts", 200*time.Millisecond, 300*time.Millisecond
	rules, err := filepath.Glob("../examples/rules/*.json")
	if err != nil || len(rules) == 0 {
		t.Fatalf("example rules: %v %v", rules, err)
	}
	cfg.Contributors.Rules = rules
	return cfg
}

// objects returns every object under prefix in the bucket, by key without the prefix,
// decompressed.
func objects(t *testing.T, cl *awss3.Client, prefix string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	p := awss3.NewListObjectsV2Paginator(cl, &awss3.ListObjectsV2Input{Bucket: aws.String("weir"), Prefix: aws.String(prefix + "/")})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			obj, err := cl.GetObject(context.Background(), &awss3.GetObjectInput{Bucket: aws.String("weir"), Key: o.Key},
				func(o *awss3.Options) { o.DisableLogOutputChecksumValidationSkipped = true })
			if err != nil {
				t.Fatal(err)
			}
			var r io.Reader = obj.Body
			if strings.HasSuffix(key, ".gz") {
				if r, err = gzip.NewReader(obj.Body); err != nil {
					t.Fatal(err)
				}
			}
			b, err := io.ReadAll(r)
			obj.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			out[strings.TrimPrefix(key, prefix+"/")] = b
		}
	}
	return out
}

// under returns the objects whose key starts with kind.
func under(objs map[string][]byte, kind string) map[string][]byte {
	out := map[string][]byte{}
	for k, v := range objs {
		if strings.HasPrefix(k, kind) {
			out[k] = v
		}
	}
	return out
}

// publishedRecords reads EMF files and returns, per window start, how many times the
// per-stream Records point was published and its values.
func publishedRecords(t *testing.T, files ...string) map[int64][]float64 {
	t.Helper()
	out := map[int64][]float64{}
	for _, f := range files {
		for _, line := range emfLines(t, f) {
			aws, _ := line["_aws"].(map[string]any)
			v, ok := line["Records"]
			if !ok || aws == nil || line["Partition"] != nil || line["Stream"] == nil {
				continue // not the per-stream Records point
			}
			ts := int64(aws["Timestamp"].(float64))
			out[ts] = append(out[ts], v.(float64))
		}
	}
	return out
}

// One worker and three, on the same input (kfake, moto S3), write byte-identical global
// reports and partials: every partition's partial is the same bytes whichever worker wrote it
// (and however often a rebalance made it be written again), and the aggregator merges them in
// partition order. Each window's metrics are published once across the fleet.
func TestFleetOfThreeReportsWhatOneDoes(t *testing.T) {
	const parts, perPartition, windows = 8, 1200, 6
	srv := moto.Start(t)
	conf, awsCfg := srv.AWS(t)
	s3c := s3.NewClient(awsCfg, &conf)
	if _, err := s3c.CreateBucket(context.Background(), &awss3.CreateBucketInput{Bucket: aws.String("weir")}); err != nil {
		t.Fatal(err)
	}
	c, cl := newTopic(t, parts)
	start := time.Now().Add(-time.Minute).Truncate(time.Second)
	// Half the records now, the other half once the three workers run (below).
	accessLogs(t, cl, parts, perPartition/2, windows/2, start)
	dir := t.TempDir()
	// The windows with records, as keys name them (the window of closeWindows' records stays
	// open, and is written by neither run).
	var stamps []string
	for i := range windows {
		stamps = append(stamps, start.Add(time.Duration(i)*time.Second).UTC().Format("20060102T150405Z"))
	}
	ofData := func(objs map[string][]byte) map[string][]byte {
		out := map[string][]byte{}
		for k, v := range objs {
			for _, s := range stamps {
				if strings.Contains(k, "window="+s+"/") || strings.Contains(k, "/"+s+"_") || strings.Contains(k, "window="+s+".") {
					out[k] = v
				}
			}
		}
		return out
	}

	run := func(group string, workers int) (map[string][]byte, []string) {
		var stops []func() error
		var emfs []string
		var ws []*Assembly
		for i := range workers {
			emf := filepath.Join(dir, fmt.Sprintf("%s-%d.emf", group, i))
			emfs = append(emfs, emf)
			cfg := fleetConfig(t, srv, c.ListenAddrs(), group, group, emf)
			// No partition goes quiet within the test: the wall clock closes no window, so
			// which records are late depends on the records alone, not on how long the
			// second half took to come (see closeWindows).
			cfg.Window.IdleTimeout = 10 * time.Minute
			w, stop := runWorker(t, cfg, testDeps())
			ws, stops = append(ws, w), append(stops, stop)
			// The others join while the first is draining: a rebalance moves partitions with
			// windows open, which their new owners read again from the checkpoints.
			for i == 0 && workers > 1 && w.Stats().Records < parts*perPartition/4 {
				time.Sleep(time.Millisecond)
			}
		}
		if workers > 1 {
			// The rest of the records once every member owns partitions, so that every member
			// reads some. Produced while the group was still rebalancing, on a loaded machine
			// they were all read by the first member before the others were given anything.
			settled := time.Now().Add(60 * time.Second)
			for {
				owned, members := 0, 0
				for _, w := range ws {
					if n := w.Stats().Partitions; n > 0 {
						owned, members = owned+n, members+1
					}
				}
				if members == workers && owned == parts {
					break
				}
				if time.Now().After(settled) {
					t.Fatalf("%s: after 60s %d of %d members own partitions, %d of %d partitions owned", group, members, workers, owned, parts)
				}
				time.Sleep(10 * time.Millisecond)
			}
			accessLogs(t, cl, parts, perPartition/2, windows/2, start.Add(windows/2*time.Second))
			closeWindows(t, cl, parts, start.Add(windows*time.Second))
		}
		deadline := time.Now().Add(90 * time.Second)
		for len(under(ofData(objects(t, s3c, group)), "kind=summary/operator=fleet/")) < windows {
			if time.Now().After(deadline) {
				// Say which windows are unreported and which partials they have, so that a
				// failure seen once can be read.
				objs := ofData(objects(t, s3c, group))
				var have []string
				for k := range under(objs, "kind=summary/operator=fleet/") {
					have = append(have, k)
				}
				partials := map[string]int{}
				for k := range under(objs, "kind=partial/") {
					w, _, _ := strings.Cut(strings.TrimPrefix(k, "kind=partial/"), "/")
					partials[w]++
				}
				t.Fatalf("%s: %d fleet summaries of the data's windows after 90s, want %d: summaries %v; partials per window %v (of %d partitions)",
					group, len(have), windows, have, partials, parts)
			}
			time.Sleep(200 * time.Millisecond)
		}
		var wg sync.WaitGroup
		for _, stop := range stops {
			wg.Go(func() {
				if err := stop(); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		var read int64
		for i, w := range ws {
			if workers > 1 && w.Stats().Records == 0 {
				t.Errorf("%s: worker %d read nothing: the fleet was not one of %d", group, i, workers)
			}
			read += w.Stats().Records
		}
		t.Logf("%s: %d workers read %d records (%d produced; the rest read again after rebalances)", group, workers, read, parts*perPartition)
		return ofData(objects(t, s3c, group)), emfs
	}
	three, threeEMF := run("three", 3)
	one, oneEMF := run("one", 1)

	for _, kind := range []string{"kind=partial/", "kind=summary/", "kind=report/", "kind=anomaly/"} {
		a, b := under(one, kind), under(three, kind)
		if kind != "kind=anomaly/" && len(a) == 0 {
			t.Errorf("one worker wrote nothing under %s", kind)
		}
		for k, v := range a {
			if w, ok := b[k]; !ok {
				t.Errorf("%s: three workers did not write it", k)
			} else if !bytes.Equal(v, w) {
				t.Errorf("%s differs:\n one   %s\n three %s", k, v, w)
			}
		}
		for k := range b {
			if _, ok := a[k]; !ok {
				t.Errorf("%s: written by three workers, not by one", k)
			}
		}
	}
	var summary aggregator.Summary
	for k, v := range under(one, "kind=summary/operator=fleet/") {
		if err := json.Unmarshal(v, &summary); err != nil {
			t.Fatal(err)
		}
		if summary.Partitions != parts || len(summary.Missing) != 0 {
			t.Errorf("%s: %d partitions merged, missing %v; want all %d", k, summary.Partitions, summary.Missing, parts)
		}
	}
	// Each window's metrics went out once: by the one aggregator, or by whichever of the three
	// held the seat when the window was merged; never twice.
	for name, emfs := range map[string][]string{"one": oneEMF, "three": threeEMF} {
		published := publishedRecords(t, emfs...)
		var total float64
		for i := range windows {
			ts := start.Add(time.Duration(i) * time.Second).UnixMilli()
			if vs := published[ts]; len(vs) != 1 {
				t.Errorf("%s: window %v published %d times", name, time.UnixMilli(ts).UTC(), len(vs))
			} else {
				total += vs[0]
			}
		}
		if len(published) != windows || total != parts*perPartition {
			t.Errorf("%s: %d windows published, %v records; want %d windows, %d records", name, len(published), total, windows, parts*perPartition)
		}
	}
	if n := len(under(three, "kind=published/")); n != windows {
		t.Errorf("%d publish markers, want one per window (%d)", n, windows)
	}
}

// stallPartition holds back one partition's partial writes until released: a worker that is
// slow or stuck on that partition, as the aggregator sees it.
type stallPartition struct {
	pipeline.PartialWriter
	p        pipeline.Partition
	released chan struct{}
}

func (s stallPartition) WritePartial(ctx context.Context, start time.Time, p pipeline.Partition, body []byte) error {
	if p == s.p {
		select {
		case <-s.released:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.PartialWriter.WritePartial(ctx, start, p, body)
}

// A partition whose partial does not arrive holds its windows until the grace deadline; then
// they are merged without it and the fleet summary names it. When its partials arrive, the
// windows are merged again and their reports rewritten (now counting it, and naming it late),
// and their metrics are not published twice.
func TestMissingPartitionNamedAtGraceThenMergedLate(t *testing.T) {
	const parts, perPartition, windows = 4, 600, 3
	c, cl := newTopic(t, parts)
	start := time.Now().Add(-time.Minute).Truncate(time.Second)
	accessLogs(t, cl, parts, perPartition, windows, start)
	dir := t.TempDir()
	cfg := kafkaConfig(c, "grace", dir)
	// The windows with records; the quiet partitions go on writing empty partials after them,
	// and the aggregator reports those windows too (with no record).
	var data []string
	for i := range windows {
		data = append(data, start.Add(time.Duration(i)*time.Second).UTC().Format(time.RFC3339))
	}
	cfg.Window.TimeField, cfg.Window.AllowedLateness, cfg.Window.IdleTimeout = "$.ts", 200*time.Millisecond, 300*time.Millisecond
	cfg.Aggregator.Grace = 4 * time.Second // above period + idle timeout + lateness
	stuck := pipeline.Partition{Stream: "events", ID: "2"}
	release := make(chan struct{})
	deps := testDeps()
	deps.Hooks.WrapPartials = func(w pipeline.PartialWriter) pipeline.PartialWriter {
		return stallPartition{PartialWriter: w, p: stuck, released: release}
	}
	_, stop := runWorker(t, cfg, deps)
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	summaries := func() map[string]aggregator.Summary {
		out := map[string]aggregator.Summary{}
		want := map[string]bool{}
		for _, w := range data {
			want[w] = true
		}
		root := filepath.Join(dir, "kind=summary", "operator=fleet")
		_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var s aggregator.Summary
			if err := json.Unmarshal(bytes.TrimSpace(b), &s); err != nil {
				t.Fatal(err)
			}
			if want[s.WindowStart] {
				out[s.WindowStart] = s
			}
			return nil
		})
		return out
	}
	waitSummaries := func(what string, ok func(map[string]aggregator.Summary) bool) map[string]aggregator.Summary {
		deadline := time.Now().Add(60 * time.Second)
		for {
			s := summaries()
			if ok(s) {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: summaries %+v", what, s)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	begun := time.Now()
	first := waitSummaries("windows merged without the stuck partition", func(s map[string]aggregator.Summary) bool {
		return len(s) == windows
	})
	if waited := time.Since(begun); waited < cfg.Aggregator.Grace {
		t.Errorf("windows merged %v after the start, before the %v grace", waited, cfg.Aggregator.Grace)
	}
	for w, s := range first {
		if len(s.Missing) != 1 || s.Missing[0] != stuck.String() || s.Partitions != parts-1 || s.Records != (parts-1)*perPartition/windows {
			t.Errorf("window %s at the grace deadline: %+v; want %s missing and %d records", w, s, stuck, (parts-1)*perPartition/windows)
		}
	}
	close(release)
	final := waitSummaries("windows merged again with the late partials", func(s map[string]aggregator.Summary) bool {
		for _, x := range s {
			if len(x.Late) != 1 || len(x.Missing) != 0 {
				return false
			}
		}
		return len(s) == windows
	})
	for w, s := range final {
		if s.Late[0] != stuck.String() || s.Partitions != parts || s.Records != parts*perPartition/windows {
			t.Errorf("window %s re-merged: %+v; want every partition, %s late, %d records", w, s, stuck, parts*perPartition/windows)
		}
	}
	// The throughput reports were rewritten under the same keys, now counting the partition.
	var total int64
	for _, w := range filetest.ThroughputRecords(t, dir) {
		for _, n := range w {
			total += n
		}
	}
	if total != parts*perPartition {
		t.Errorf("throughput reports count %d records, want %d", total, parts*perPartition)
	}
	// And the metrics of each window went out once: at the grace deadline, without the
	// partition; not again.
	published := publishedRecords(t, filepath.Join(dir, "metrics.emf"))
	for _, w := range data {
		ws, _ := time.Parse(time.RFC3339, w)
		if vs := published[ws.UnixMilli()]; len(vs) != 1 || vs[0] != (parts-1)*perPartition/windows {
			t.Errorf("window %s published %v, want once, without the late partition", w, vs)
		}
	}
}
