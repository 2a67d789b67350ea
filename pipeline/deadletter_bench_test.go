package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/contrib"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/pipeline/pipelinetest"
	"github.com/weirstream/weir/pipeline/throughput"
	"github.com/weirstream/weir/sinks/file"
)

// BenchmarkDeadLetterPath compares the rate of clean records with that of streams where 1% and
// 100% of the records are undecodable, through the real file sink (dead letters are encoded and
// written as the worker writes them) and the operators of a worker with the example rules
// (throughput and three contributor rules), their partials in the file sink's partial store:
// the same runtime, partitions and batches, one run.
// ns/op is per record; records/s (wall clock) and records/cpu-s (the process's user + system
// CPU time, which a busy machine changes less) are reported for reading the ratios.
func BenchmarkDeadLetterPath(b *testing.B) {
	for _, c := range []struct {
		name  string
		every int // one record in every is bad; 0: none
	}{{"clean", 0}, {"bad-1pct", 100}, {"bad-100pct", 1}} {
		b.Run(c.name, func(b *testing.B) { benchDeadLetters(b, c.every) })
	}
}

func benchDeadLetters(b *testing.B, badEvery int) {
	const parts, batchLen = 8, 500
	cfg := pipeline.DefaultWindowConfig()
	cfg.Period = time.Second
	cfg.TimeField = "$.ts"
	dir := b.TempDir()
	fs, err := file.New(file.Config{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	plan := decode.NewPlan(decode.JSON)
	ops := []pipeline.Operator{throughput.New()}
	rules, err := contrib.LoadFiles([]string{"../examples/rules/5xx-by-tenant.json",
		"../examples/rules/bytes-by-user.json", "../examples/rules/requests-by-path.json"})
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range rules {
		op, err := contrib.New(r, plan, contrib.Options{})
		if err != nil {
			b.Fatal(err)
		}
		ops = append(ops, op)
	}
	rt, err := pipeline.New(pipeline.Options{
		Window: cfg, Plan: plan, Operators: ops,
		Partials: fs.PartialStore(), DeadLetters: fs, Committer: pipelinetest.Discard{},
		Budget: pipeline.NewBudget(1 << 30), Metrics: pipeline.NewMetrics(prometheus.NewRegistry()),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	rt.Start()
	feeds := make([]*pipeline.Feed, parts)
	for p := range parts {
		feeds[p], _ = rt.Assign(pipeline.Partition{Stream: "events", ID: fmt.Sprint(p)}, nil)
	}
	// One template of values per partition: good events 10 µs apart in event time (200
	// tenants, 4000 users, 50 paths, one in twenty a 5xx), and bad
	// ones (the first colon gone, so they do not parse) where badEvery says.
	tmpl := make([][][]byte, parts)
	for p := range parts {
		for i := range batchLen {
			ts := t0.Add(time.Duration(i) * 10 * time.Microsecond)
			k := p*batchLen + i
			v := fmt.Appendf(nil, `{"ts":%q,"tenant":"t-%04d","user":"u-%05d","path":"/api/v1/items/%d","method":"GET","status":%d,"bytes":%d,"latency_ms":12.5}`,
				ts.Format(time.RFC3339Nano), k%200, k*7919%20000, k%50, 200+300*(k%20/19), 1000+k%4000)
			if badEvery > 0 && (p*batchLen+i)%badEvery == 0 {
				v = bytes.Replace(v, []byte(":"), []byte(" "), 1)
			}
			tmpl[p] = append(tmpl[p], v)
		}
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU()
	feedRounds(b, feeds, batchLen, func(p, round, n int) []pipeline.Record {
		recs := make([]pipeline.Record, n)
		for i := range recs {
			recs[i] = pipeline.Record{Partition: feeds[p].Partition(), Position: pipeline.Position{Offset: int64(round*batchLen + i)},
				Value: tmpl[p][i], Time: t0}
		}
		return recs
	})
	// Every record processed and every dead letter written: Close drains the writer.
	for rt.Stats().Records < int64(b.N) {
		time.Sleep(50 * time.Microsecond)
	}
	if err := rt.Close(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
	b.ReportMetric(float64(b.N)/(processCPU()-cpu0).Seconds(), "records/cpu-s")
	if letters := rt.Stats().DeadLetters; letters > 0 {
		objects := 0
		filepath.WalkDir(filepath.Join(dir, "kind=deadletter"), func(_ string, d iofs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				objects++
			}
			return err
		})
		b.ReportMetric(float64(objects)*10000/float64(letters), "objects/10k-letters")
	}
}

// processCPU is the process's user + system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
