package pipeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/pipeline/pipelinetest"
	"github.com/weirstream/weir/pipeline/throughput"
)

// positionsOp lists, per window, the positions of the records folded in: which records fell in
// which window, exactly.
type positionsOp struct{}

func (positionsOp) Name() string                               { return "positions" }
func (positionsOp) NewState(pipeline.Partition) pipeline.State { return &positionsState{} }

type positionsState struct{ Offsets []int64 }

func (s *positionsState) Observe(r *pipeline.Record, _ []decode.Value) {
	s.Offsets = append(s.Offsets, r.Position.Offset)
}
func (s *positionsState) Merge(o pipeline.State) error {
	s.Offsets = append(s.Offsets, o.(*positionsState).Offsets...)
	return nil
}
func (s *positionsState) Emit(_ pipeline.Window, out *pipeline.Output) {
	out.Reports = append(out.Reports, pipeline.Report{Kind: "test", Name: "positions", Body: s.Offsets})
}
func (s *positionsState) EncodeMsgpack(e *msgpack.Encoder) error { return e.Encode(s.Offsets) }
func (s *positionsState) DecodeMsgpack(d *msgpack.Decoder) error { return d.Decode(&s.Offsets) }

// messyPartition is 3,000 records of one partition, 40 ms apart in event time: one in ten out of
// order by up to 4 s (inside the 5 s allowed lateness), one in fifty stamped 6 s to a minute
// back (late or not depending on where the window ends: rule 3 decides), one in a hundred
// undecodable.
func messyPartition(p pipeline.Partition, start time.Time) []pipeline.Record {
	rng := rand.New(rand.NewPCG(7, 11))
	var recs []pipeline.Record
	for i := range 3000 {
		ts := start.Add(time.Duration(i) * 40 * time.Millisecond)
		switch n := rng.IntN(100); {
		case n < 10:
			ts = ts.Add(-time.Duration(rng.Int64N(int64(4 * time.Second))))
		case n < 12:
			ts = ts.Add(-6*time.Second - time.Duration(rng.Int64N(int64(54*time.Second))))
		}
		r := stamped(p, int64(i), ts)
		if rng.IntN(100) == 0 {
			r.Value = []byte(`{"ts" "` + ts.Format(time.RFC3339Nano) + `"}`)
		}
		recs = append(recs, r)
	}
	return recs
}

// replayRun processes recs from their first position in batches of batchLen, moving the clock
// by step per batch (the source never says caught up, so no wall-clock rule applies), and
// with, beside them, a noisy neighbour whose records run an hour ahead. It returns the
// partition's window outputs as JSON, by window, and its dead letters.
func replayRun(t *testing.T, recs []pipeline.Record, batchLen int, step time.Duration, neighbour bool) (map[time.Time]string, []string) {
	cfg := pipeline.DefaultWindowConfig()
	cfg.Period = 10 * time.Second
	cfg.TimeField = "$.ts"
	clock := &fakeClock{now: recs[0].Time}
	sink := &pipelinetest.MemSink{}
	h := newHarness(t, cfg, decode.NewPlan(decode.JSON), sink, withClock(clock), func(o *pipeline.Options) {
		o.Operators = append(o.Operators, positionsOp{})
	})
	p := recs[0].Partition
	f, _ := h.rt.Assign(p)
	if neighbour {
		q := pipeline.Partition{Stream: "events", ID: "9"}
		fq, _ := h.rt.Assign(q)
		var qb pipeline.Batch
		for i := range 500 {
			qb.Records = append(qb.Records, stamped(q, int64(i), recs[0].Time.Add(time.Hour+time.Duration(i)*time.Second)))
		}
		if err := fq.Send(context.Background(), qb); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < len(recs); i += batchLen {
		clock.advance(step)
		b := pipeline.Batch{Partition: p, Records: recs[i:min(i+batchLen, len(recs))], More: true}
		if err := f.Send(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	outs := map[time.Time]string{}
	for _, o := range sink.Outputs() {
		parts := o.Reports[0].Body.(throughput.Report).Partitions
		if len(parts) != 1 || parts[0].Partition != p.ID {
			continue // the neighbour's
		}
		data, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := outs[o.Window.Start]; dup {
			t.Fatalf("window %v emitted twice", o.Window.Start)
		}
		outs[o.Window.Start] = string(data)
	}
	var letters []string
	for _, l := range sink.DeadLetters() {
		if l.Partition == p {
			letters = append(letters, fmt.Sprintf("%s %s", l.Position, l.Reason))
		}
	}
	return outs, letters
}

// Replay determinism (rule 7): the same partition processed twice from the same position, in
// batches of 7 with the clock moving 5 ms a batch and in batches of 400 moving 3 s a batch
// beside a partition an hour ahead, gives byte-identical window outputs and the same dead
// letters. With the watermark moved once per batch, which records were late depended on where
// the batches ended.
func TestEventTimeReplayIsDeterministic(t *testing.T) {
	p := pipeline.Partition{Stream: "events", ID: "0"}
	recs := messyPartition(p, time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC))
	first, firstLetters := replayRun(t, recs, 7, 5*time.Millisecond, false)
	again, againLetters := replayRun(t, recs, 400, 3*time.Second, true)
	if len(first) < 12 {
		t.Fatalf("%d windows, want the 12 the records span", len(first))
	}
	for w, out := range first {
		if again[w] != out {
			t.Errorf("window %v differs on replay:\nfirst %s\nagain %s", w.Format(time.TimeOnly), out, again[w])
		}
	}
	if len(again) != len(first) {
		t.Errorf("%d windows on replay, %d the first time", len(again), len(first))
	}
	if strings.Join(firstLetters, ",") != strings.Join(againLetters, ",") {
		t.Errorf("dead letters differ:\nfirst %v\nagain %v", firstLetters, againLetters)
	}
	var late int
	for _, l := range firstLetters {
		if strings.HasSuffix(l, "late") {
			late++
		}
	}
	if late == 0 || len(firstLetters) == late {
		t.Errorf("dead letters %v: want both late and undecodable ones, or the test tests little", firstLetters)
	}
}
