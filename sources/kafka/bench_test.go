package kafka_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/pipeline/pipelinetest"
	"github.com/weirstream/weir/pipeline/throughput"
	"github.com/weirstream/weir/sources/kafka"
)

// The end-to-end benchmarks consume b.N ~200-byte JSON records from an in-process kfake
// cluster (8 partitions, 1 broker): BenchmarkBarePoll with a bare franz-go poll-and-count loop
// (the physical limit of broker and client here), BenchmarkPipeline with weir's source and
// runtime (throughput operator, a discarding sink, commits after acks). ns/op is per record;
// cpu-ns/op is process CPU time per record, which the broker's share inflates equally for both.
func BenchmarkBarePoll(b *testing.B) {
	addrs := benchCluster(b)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(kafka.DefaultConfig().FetchMaxWait))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	cpu := startCPU(b)
	n := 0
	for n < b.N {
		fs := cl.PollRecords(context.Background(), 10000)
		fs.EachPartition(func(p kgo.FetchTopicPartition) { n += len(p.Records) })
	}
	cpu.stop(b)
}

func BenchmarkPipeline(b *testing.B) {
	benchPipeline(b, kafka.DefaultConfig().FetchMaxWait, throughput.New(), 64<<20)
}

// BenchmarkBackpressure makes the runners the bottleneck (an operator costing ~2µs a record)
// with a small budget, so partitions pause and resume all the time, and compares fetch max
// waits: franz-go does not fetch a resumed partition while a fetch to its broker is in flight,
// so a long wait can stall every resume.
func BenchmarkBackpressure(b *testing.B) {
	for _, wait := range []time.Duration{100 * time.Millisecond, 250 * time.Millisecond, 5 * time.Second} {
		b.Run("fetch_max_wait="+wait.String(), func(b *testing.B) { benchPipeline(b, wait, slowOp{}, 2<<20) })
	}
}

type slowOp struct{}

func (slowOp) Name() string                                 { return "slow" }
func (slowOp) NewState(p pipeline.Partition) pipeline.State { return &slowState{} }

type slowState struct{}

func (s *slowState) Observe(r *pipeline.Record, _ []decode.Value) {
	deadline := time.Now().Add(2 * time.Microsecond)
	for time.Now().Before(deadline) {
	}
}
func (s *slowState) Merge(pipeline.State) error             { return nil }
func (s *slowState) Emit(pipeline.Window, *pipeline.Output) {}
func (s *slowState) EncodeMsgpack(*msgpack.Encoder) error   { return nil }
func (s *slowState) DecodeMsgpack(*msgpack.Decoder) error   { return nil }

func benchPipeline(b *testing.B, wait time.Duration, op pipeline.Operator, budgetBytes int64) {
	addrs := benchCluster(b)
	reg := prometheus.NewRegistry()
	pm := pipeline.NewMetrics(reg)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	budget := pipeline.NewBudget(budgetBytes)
	cfg := kafka.DefaultConfig()
	cfg.Brokers, cfg.Topics, cfg.Group = addrs, []string{topic}, fmt.Sprint("bench-", b.N)
	cfg.FetchMaxWait = wait
	src, err := kafka.New(context.Background(), cfg, budget, reg, pm, log)
	if err != nil {
		b.Fatal(err)
	}
	wc := pipeline.DefaultWindowConfig()
	wc.AllowedLateness = 0
	rt, err := pipeline.New(pipeline.Options{Window: wc, Plan: decode.NewPlan(decode.JSON),
		Operators: []pipeline.Operator{op}, Partials: pipelinetest.Discard{},
		DeadLetters: pipelinetest.Discard{}, Committer: src, Budget: budget, Metrics: pm, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	rt.Start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	cpu := startCPU(b)
	go func() { done <- src.Run(ctx, rt) }()
	for rt.Stats().Records < int64(b.N) {
		time.Sleep(100 * time.Microsecond)
	}
	cpu.stop(b)
	cancel()
	<-done
	_ = rt.Close(context.Background())
	_ = src.Close(context.Background())
}

// benchCluster starts a cluster holding b.N records spread over 8 partitions.
func benchCluster(b *testing.B) []string {
	b.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(8, topic))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic(topic),
		kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(200_000))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	var wg sync.WaitGroup
	now := time.Now()
	for i := range b.N {
		wg.Add(1)
		v := fmt.Appendf(nil, `{"ts":%q,"tenant":"t-%04d","user":"u-%05d","path":"/api/v1/items","method":"GET","status":200,"bytes":5123,"latency_ms":12.5}`,
			now.Add(time.Duration(i)*time.Microsecond).Format(time.RFC3339Nano), i%200, i%20000)
		cl.Produce(context.Background(), &kgo.Record{Key: []byte(fmt.Sprint(i % 1000)), Value: v}, func(_ *kgo.Record, err error) {
			if err != nil {
				b.Error(err)
			}
			wg.Done()
		})
	}
	wg.Wait()
	return c.ListenAddrs()
}

type cpuTimer struct{ start time.Duration }

func startCPU(b *testing.B) cpuTimer {
	b.ResetTimer()
	return cpuTimer{start: cpuTime()}
}

func (c cpuTimer) stop(b *testing.B) {
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-c.start)/float64(b.N), "cpu-ns/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
