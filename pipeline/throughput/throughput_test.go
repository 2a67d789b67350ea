package throughput_test

import (
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/throughput"
)

func TestMergeEmitAndRoundTrip(t *testing.T) {
	op := throughput.New()
	w := pipeline.Window{Start: time.Unix(1795245600, 0).UTC(), End: time.Unix(1795245660, 0).UTC()}
	var states []pipeline.State
	for p, n := range []int{3, 5, 2} {
		st := op.NewState(pipeline.Partition{Stream: "events", ID: string(rune('0' + p))})
		for range n {
			st.Observe(&pipeline.Record{Key: []byte("k"), Value: []byte("value")}, nil)
		}
		states = append(states, st)
	}
	// Partials travel between workers as msgpack: round-trip one before merging.
	data, err := msgpack.Marshal(states[2])
	if err != nil {
		t.Fatal(err)
	}
	var back throughput.State
	if err := msgpack.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if err := states[0].Merge(states[1]); err != nil {
		t.Fatal(err)
	}
	if err := states[0].Merge(&back); err != nil {
		t.Fatal(err)
	}
	var out pipeline.Output
	states[0].Emit(w, &out)
	totals := map[string]float64{}
	for _, p := range out.Points {
		if len(p.Dimensions) == 1 {
			totals[p.Name] = p.Value
		}
		if !p.Time.Equal(w.Start) {
			t.Errorf("point %s at %v, want the window start", p.Name, p.Time)
		}
	}
	if totals["Records"] != 10 || totals["Bytes"] != 60 {
		t.Errorf("stream totals %v, want 10 records and 60 bytes", totals)
	}
	rep := out.Reports[0].Body.(throughput.Report)
	if rep.Records != 10 || len(rep.Partitions) != 3 || rep.Partitions[1].Records != 5 {
		t.Errorf("report %+v", rep)
	}
	if err := states[0].Merge(&fakeState{}); err == nil {
		t.Error("merging a foreign state did not fail")
	}
}

type fakeState struct{ throughput.State }

func (*fakeState) Merge(pipeline.State) error { return nil }

// What a window lost is counted per partition, survives the msgpack round trip of a partial,
// merges, and appears in the summary report as per-partition and window totals.
func TestDropsInSummaryReport(t *testing.T) {
	op := throughput.New()
	w := pipeline.Window{Start: time.Unix(1795245600, 0).UTC(), End: time.Unix(1795245660, 0).UTC()}
	a := op.NewState(pipeline.Partition{Stream: "events", ID: "0"})
	b := op.NewState(pipeline.Partition{Stream: "events", ID: "1"})
	a.(pipeline.DropCounter).CountDrops("late", true, 2)
	a.(pipeline.DropCounter).CountDrops("decode", true, 1)
	b.(pipeline.DropCounter).CountDrops("late", false, 3) // placed by oldest-open
	b.(pipeline.DropCounter).CountDrops("event_time", true, 4)
	data, err := msgpack.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var back throughput.State
	if err := msgpack.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if err := a.Merge(&back); err != nil {
		t.Fatal(err)
	}
	var out pipeline.Output
	a.Emit(w, &out)
	rep := out.Reports[0].Body.(throughput.Report)
	want := throughput.DeadLetterCounts{Decode: 1, EventTime: 4, Late: 2}
	if rep.Late != 5 || rep.DeadLetters != want {
		t.Errorf("window: late %d, dead letters %+v; want 5 and %+v", rep.Late, rep.DeadLetters, want)
	}
	if p1 := rep.Partitions[1]; p1.Late != 3 || p1.DeadLetters.EventTime != 4 || p1.DeadLetters.Late != 0 {
		t.Errorf("partition 1: %+v", p1)
	}
}
