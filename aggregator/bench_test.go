package aggregator

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/anomaly"
	"github.com/weirstream/weir/sources/demo"
)

// partitionEvents draws n events of window w for one partition, from its own seed: a
// partition's share of the demo traffic (Zipf tenants and users, 5% server errors).
func partitionEvents(w, partition, n int) []event {
	r := rand.New(rand.NewPCG(uint64(partition), uint64(w)))
	tenants, users := demo.NewZipf(200, 1.1), demo.NewZipf(20000, 1.05)
	out := make([]event, n)
	for i := range out {
		ts := win(w).Start.Add(time.Duration(i) * period / time.Duration(n))
		e := demo.Event{TS: ts, Tenant: tenants.Draw(r) + 1, User: users.Draw(r) + 1}
		e.Fill(r, 0.05)
		out[i] = event{window: w, doc: e.AppendJSON(nil), user: e.User}
	}
	return out
}

// BenchmarkMerge is the aggregator's work for one window: read every partition's partial
// from a directory (the page cache: the store's latency is not the subject), decode, merge
// the throughput operator and the three example rules, emit the global Output. Each partition
// folded 1,000 demo records, so every rule's state is realistic: the per-user rule's sketch
// is full (1,000 counters). cpu-ns/partition is the process's CPU time (every thread) per
// partition merged.
func BenchmarkMerge(b *testing.B) {
	for _, n := range []int{64, 1024} {
		b.Run(fmt.Sprintf("partitions=%d", n), func(b *testing.B) {
			env := fileEnv(b)
			pr := newProducer(b, nil)
			var bytes int64
			parts := make([]pipeline.Partition, n)
			for i := range n {
				parts[i] = pipeline.Partition{Stream: "events", ID: fmt.Sprint(i)}
				body := pr.partial(b, parts[i], win(0), partitionEvents(0, i, 1000), 0)
				bytes += int64(len(body))
				if err := env.writer.WritePartial(ctx, win(0).Start, parts[i], body); err != nil {
					b.Fatal(err)
				}
			}
			slices.SortFunc(parts, pipeline.ComparePartitions)
			a := newAgg(b, env, n, nil, &clock{now: win(0).End}, nil)
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				f, err := a.fold(ctx, win(0), parts)
				if err != nil {
					b.Fatal(err)
				}
				out := a.output(win(0), f)
				if f.summary.Partitions != n || len(out.Reports) != 5 {
					b.Fatalf("merged %d partials into %d reports", f.summary.Partitions, len(out.Reports))
				}
			}
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N)/float64(n), "cpu-ns/partition")
			b.ReportMetric(float64(bytes)/float64(n), "partial-bytes")
		})
	}
}

// processCPU is the CPU time of the whole process so far (user and system, every thread: the
// readers' decoding and the collector's marking included), in nanoseconds. On a shared machine
// it moves far less than wall time when other processes take the cores.
func processCPU() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkS3RequestsPerWindow counts the aggregator's S3 requests per window on moto, in a
// live pattern: each window's partials arrive 5 s after its end (15 s for a quarter of the
// partitions, quiet ones closing on idle_timeout + lateness), while the aggregator polls at its
// default interval (period / 10). It reports requests per window by operation; the workers'
// side is one PutObject per partition per window (its partial). The anomaly analyzer runs with
// its default warm-up, so it writes no anomaly reports (an alarm adds one PUT per event).
func BenchmarkS3RequestsPerWindow(b *testing.B) {
	const n = 16
	counts := &s3Requests{n: map[string]int{}}
	env := s3Env(b, counts)
	pr := newProducer(b, nil)
	clk := &clock{now: win(0).Start}
	a := newAgg(b, env, n, nil, clk, func(o *Options) {
		o.Metrics = newPublished(b)
		o.NewAnalyzers = func(store SnapshotStore, reg prometheus.Registerer) ([]pipeline.Analyzer, error) {
			an, err := anomaly.NewAnalyzer(anomaly.DefaultConfig(), store, reg, nil)
			return []pipeline.Analyzer{an}, err
		}
	})
	tm := begin(b, a, 1)
	counts.take() // the term's start: one state load and save, not per window
	windows := 0
	for b.Loop() {
		w := windows
		bodies := make([][]byte, n)
		for i := range n {
			bodies[i] = pr.partial(b, pipeline.Partition{Stream: "events", ID: fmt.Sprint(i)}, win(w), partitionEvents(w, i, 100), 0)
		}
		for tick := time.Duration(0); ; tick += a.cfg.Poll {
			clk.set(win(w).End.Add(tick))
			for i := range n {
				arrive := 5 * time.Second
				if i%4 == 3 {
					arrive = 15 * time.Second
				}
				if tick >= arrive && tick-a.cfg.Poll < arrive {
					if err := env.writer.WritePartial(ctx, win(w).Start, pipeline.Partition{Stream: "events", ID: fmt.Sprint(i)}, bodies[i]); err != nil {
						b.Fatal(err)
					}
				}
			}
			drive(b, tm)
			if tm.st.Next == win(w).End.UnixNano() {
				break
			}
			if tick > time.Hour {
				b.Fatalf("window %d never merged", w)
			}
		}
		windows++
	}
	got := counts.take()
	for _, op := range []string{"PutObject", "GetObject", "ListObjectsV2"} {
		b.ReportMetric(float64(got[op])/float64(windows), op+"/window")
	}
	if got["GetObject"] != n*windows {
		b.Errorf("%d GETs for %d windows of %d partitions: each partial should be read once", got["GetObject"], windows, n)
	}
}
