package pipeline_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/pipeline/pipelinetest"
)

// noop is an operator that does nothing per record: what is left is the runtime's own cost.
type noop struct{}

func (noop) Name() string                               { return "noop" }
func (noop) NewState(pipeline.Partition) pipeline.State { return &noopState{} }

type noopState struct{ n int64 }

func (s *noopState) Observe(*pipeline.Record, []decode.Value) { s.n++ }
func (s *noopState) Merge(o pipeline.State) error             { s.n += o.(*noopState).n; return nil }
func (s *noopState) Emit(pipeline.Window, *pipeline.Output)   {}
func (s *noopState) EncodeMsgpack(e *msgpack.Encoder) error   { return e.EncodeInt(s.n) }
func (s *noopState) DecodeMsgpack(d *msgpack.Decoder) error {
	var err error
	s.n, err = d.DecodeInt64()
	return err
}

// BenchmarkRuntime measures one record through decode (when a time field is set) and a runner:
// ns/op and allocs/op are per record. 8 partitions, batches of 500, ~200-byte JSON records,
// 100 records per millisecond of event time (windows of 1s close as the stream goes).
func BenchmarkRuntime(b *testing.B) {
	for _, tf := range []string{"", "$.ts"} {
		name := "broker-time"
		if tf != "" {
			name = "json-time-field"
		}
		b.Run(name, func(b *testing.B) { benchRuntime(b, tf) })
	}
}

func benchRuntime(b *testing.B, timeField string) {
	const parts, batchLen = 8, 500
	cfg := pipeline.DefaultWindowConfig()
	cfg.Period = time.Second
	cfg.AllowedLateness = 0
	cfg.TimeField = timeField
	rt, err := pipeline.New(pipeline.Options{
		Window: cfg, Plan: decode.NewPlan(decode.JSON), Operators: []pipeline.Operator{noop{}},
		Partials: pipelinetest.Discard{}, DeadLetters: pipelinetest.Discard{}, Committer: pipelinetest.Discard{},
		Budget: pipeline.NewBudget(1 << 30), Metrics: pipeline.NewMetrics(prometheus.NewRegistry()),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	rt.Start()
	feeds := make([]*pipeline.Feed, parts)
	// Pre-build one template batch per partition; batches are re-sent with moving offsets and
	// times, so the benchmark measures the runtime, not building records.
	tmpl := make([][]pipeline.Record, parts)
	for p := range parts {
		part := pipeline.Partition{Stream: "events", ID: fmt.Sprint(p)}
		feeds[p], _ = rt.Assign(part, nil)
		for i := range batchLen {
			ts := t0.Add(time.Duration(i) * 10 * time.Microsecond)
			tmpl[p] = append(tmpl[p], pipeline.Record{Partition: part, Time: ts,
				Value: fmt.Appendf(nil, `{"ts":%q,"tenant":"t-0042","user":"u-1234","path":"/api/v1/items","method":"GET","status":200,"bytes":5123,"latency_ms":12.5}`, ts.Format(time.RFC3339Nano))})
		}
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(tmpl[0][0].Value)))
	b.ResetTimer()
	feedRounds(b, feeds, batchLen, func(p, round, n int) []pipeline.Record {
		recs := make([]pipeline.Record, n)
		copy(recs, tmpl[p][:n])
		shift := time.Duration(round) * batchLen * 10 * time.Microsecond
		for i := range recs {
			recs[i].Position.Offset = int64(round*batchLen + i)
			recs[i].Time = recs[i].Time.Add(shift)
		}
		return recs
	})
	for rt.Stats().Records < int64(b.N) {
		time.Sleep(50 * time.Microsecond)
	}
	b.StopTimer()
	_ = rt.Close(ctx)
}

// feedRounds sends b.N records in batches of up to batchLen, a batch per partition in turn:
// mk makes partition p's batch of round (n records).
func feedRounds(b *testing.B, feeds []*pipeline.Feed, batchLen int, mk func(p, round, n int) []pipeline.Record) {
	sent := 0
	for round := 0; sent < b.N; round++ {
		for p, f := range feeds {
			n := min(batchLen, b.N-sent)
			if n <= 0 {
				break
			}
			if err := f.Send(context.Background(), pipeline.Batch{Partition: f.Partition(), Records: mk(p, round, n)}); err != nil {
				b.Fatal(err)
			}
			sent += n
		}
	}
}
