package main

import (
	"context"
	"encoding/binary"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
)

// latencyProbe measures the latency scenario's two delays from inside a worker, without
// changing what the worker computes:
//
//   - broker append → window state: an extra operator whose Observe, for one record in every
//     `every` (by offset, so the sample is spread over partitions and time), records time.Now()
//     minus the record's timestamp. The open-loop producer sets that timestamp to the record's
//     intended send time, so a producer or broker that falls behind shows up as latency
//     instead of silently sending later: this is the coordinated-omission correction (the
//     measured value also includes the producer's linger and the broker append, so it bounds
//     append → state from above).
//   - window end → partial write issued: a wrapper around the partial store that records
//     time.Now() minus the window's end when a partition's partial write begins.
//
// Observe runs on the runners' goroutines, so the histograms sit behind a mutex; sampling
// keeps the lock off the path of almost every record.
type latencyProbe struct {
	every int64

	mu       sync.Mutex
	toState  *hdrhistogram.Histogram // microseconds, from the intended send time
	fromSent *hdrhistogram.Histogram // microseconds, from the actual send time (uncorrected)
	toSink   *hdrhistogram.Histogram // microseconds
	worst    worstSeries             // append → state, per second
}

func newLatencyProbe(every int64) *latencyProbe {
	return &latencyProbe{every: max(every, 1),
		toState:  hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3),
		fromSent: hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3),
		toSink:   hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3)}
}

func (p *latencyProbe) record(h *hdrhistogram.Histogram, d time.Duration) {
	us := max(d.Microseconds(), 1)
	p.mu.Lock()
	_ = h.RecordValue(min(us, h.HighestTrackableValue())) // clamped, so never an error
	p.mu.Unlock()
}

// recordState records an append → state delay observed at now.
func (p *latencyProbe) recordState(now time.Time, d time.Duration) {
	us := max(d.Microseconds(), 1)
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.toState.RecordValue(min(us, p.toState.HighestTrackableValue()))
	p.worst.add(now, us)
}

// Name implements pipeline.Operator.
func (p *latencyProbe) Name() string { return "bench-latency-probe" }

// NewState implements pipeline.Operator.
func (p *latencyProbe) NewState(pipeline.Partition) pipeline.State { return &probeState{p: p} }

type probeState struct{ p *latencyProbe }

func (s *probeState) Observe(r *pipeline.Record, _ []decode.Value) {
	if r.Position.Offset%s.p.every != 0 {
		return
	}
	now := time.Now()
	s.p.recordState(now, now.Sub(r.Time))
	for _, h := range r.Headers {
		if h.Key == sentHeader && len(h.Value) == 8 {
			s.p.record(s.p.fromSent, now.Sub(time.Unix(0, int64(binary.BigEndian.Uint64(h.Value)))))
		}
	}
}

// The probe keeps nothing per window: merging, emitting and persisting are no-ops.
func (s *probeState) Merge(pipeline.State) error             { return nil }
func (s *probeState) Emit(pipeline.Window, *pipeline.Output) {}
func (s *probeState) EncodeMsgpack(e *msgpack.Encoder) error { return e.EncodeNil() }
func (s *probeState) DecodeMsgpack(d *msgpack.Decoder) error { return d.Skip() }

// wrapPartials times the partial writes (one per partition and window).
func (p *latencyProbe) wrapPartials(period time.Duration) func(pipeline.PartialWriter) pipeline.PartialWriter {
	return func(inner pipeline.PartialWriter) pipeline.PartialWriter {
		return &timedPartials{PartialWriter: inner, p: p, period: period}
	}
}

type timedPartials struct {
	pipeline.PartialWriter
	p      *latencyProbe
	period time.Duration
}

func (t *timedPartials) WritePartial(ctx context.Context, start time.Time, part pipeline.Partition, body []byte) error {
	if d := time.Since(start.Add(t.period)); d > 0 {
		t.p.record(t.p.toSink, d)
	}
	return t.PartialWriter.WritePartial(ctx, start, part, body)
}

// latencyResult is what the latency scenario reports; durations are milliseconds.
type latencyResult struct {
	TargetRate   float64 `json:"target_rate"`
	AchievedRate float64 `json:"achieved_rate"`
	// LiveCapacity is what producer, broker and worker sustained together (the live-capacity
	// run), DrainRate the standard scenario's backlog drain; TargetRate is -load × LiveCapacity.
	LiveCapacity float64   `json:"live_capacity"`
	DrainRate    float64   `json:"drain_rate"`
	SampleEvery  int64     `json:"sample_every"`
	ToState      quantiles `json:"append_to_state_ms"`
	// FromSent is the same delay from the actual send time: without the coordinated-omission
	// correction, for comparison only.
	FromSent quantiles `json:"sent_to_state_uncorrected_ms"`
	ToSink   quantiles `json:"window_end_to_partial_ms"`
	// AllowedLatenessMS is why window end → sink cannot be short: a window closes only when
	// the watermark (newest event time − allowed lateness) passes its end.
	AllowedLatenessMS float64 `json:"allowed_lateness_ms"`
	// Distribution is append → state at percentiles for the plot: [percentile, ms] pairs.
	Distribution [][2]float64 `json:"distribution"`
	// WorstPerSecond is the longest append → state delay sampled in each second of the run
	// (ms), from the first sample (at WorstFromUnix): a tail made of a few stalls shows as a
	// few spikes.
	WorstPerSecond []float64 `json:"worst_per_second_ms"`
	WorstFromUnix  float64   `json:"worst_from_unix"`
	// Bare is the same run's baseline: a bare consumer's append → poll on one partition.
	Bare *bareLatencyResult `json:"bare_consumer,omitempty"`
}

type quantiles struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
}

func quantilesOf(h *hdrhistogram.Histogram) quantiles {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return quantiles{Count: h.TotalCount(), P50: ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)),
		P99: ms(h.ValueAtQuantile(99)), P999: ms(h.ValueAtQuantile(99.9)), Max: ms(h.Max())}
}

func (p *latencyProbe) result() *latencyResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := &latencyResult{SampleEvery: p.every, ToState: quantilesOf(p.toState), FromSent: quantilesOf(p.fromSent),
		ToSink: quantilesOf(p.toSink)}
	r.WorstPerSecond, r.WorstFromUnix = p.worst.ms()
	for _, q := range []float64{0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 100} {
		r.Distribution = append(r.Distribution, [2]float64{q, float64(p.toState.ValueAtQuantile(q)) / 1000})
	}
	return r
}
