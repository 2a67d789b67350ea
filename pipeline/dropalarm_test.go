package pipeline_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/pipeline/pipelinetest"
	"github.com/weirstream/weir/pipeline/throughput"
)

// A partition whose every record is undecodable (a wrong format, a wrong time field) is loud:
// a warning naming the reason and an example once the idle timeout passed, at most one a
// minute; when a usable record finally comes, its window's summary counts them. Such a run
// once logged nothing at all.
func TestDeadLettersWithNoUsableRecordAreLogged(t *testing.T) {
	cfg := pipeline.DefaultWindowConfig()
	cfg.Period = 10 * time.Second
	cfg.TimeField = "$.ts"
	clock := &fakeClock{now: time.Date(2026, 11, 21, 13, 0, 3, 0, time.UTC)}
	sink := &pipelinetest.MemSink{}
	logs := &logLines{}
	h := newHarness(t, cfg, decode.NewPlan(decode.JSON), sink, withClock(clock), withLog(logs))
	p := pipeline.Partition{Stream: "events", ID: "0"}
	f, _ := h.rt.Assign(p)
	bad := pipeline.Batch{Partition: p}
	for i := range 100 {
		bad.Records = append(bad.Records, pipeline.Record{Partition: p, Position: pipeline.Position{Offset: int64(i)},
			Value: []byte(`{"time":"2026-11-21T13:00:03Z"}`)}) // no $.ts
	}
	if err := f.Send(context.Background(), bad); err != nil {
		t.Fatal(err)
	}
	warned := func() int { return strings.Count(logs.String(), "none since was usable") }
	time.Sleep(50 * time.Millisecond)
	if warned() != 0 {
		t.Fatalf("warned before the idle timeout:\n%s", logs)
	}
	clock.advance(cfg.IdleTimeout)
	pipelinetest.WaitFor(t, func() bool { return warned() == 1 })
	if out := logs.String(); !strings.Contains(out, "reason=event_time") || !strings.Contains(out, "records=100") ||
		!strings.Contains(out, `example.detail="time field is missing"`) {
		t.Errorf("the warning does not name the reason, the count and an example:\n%s", out)
	}
	clock.advance(30 * time.Second)
	time.Sleep(50 * time.Millisecond)
	if warned() != 1 {
		t.Errorf("%d warnings within a minute, want 1", warned())
	}
	clock.advance(31 * time.Second)
	pipelinetest.WaitFor(t, func() bool { return warned() == 2 })
	if !strings.Contains(logs.String(), "similar_warnings_suppressed=") {
		t.Errorf("the second warning does not say how many it stands for:\n%s", logs)
	}
	good := pipeline.Batch{Partition: p, Records: []pipeline.Record{stamped(p, 100, clock.Now())}}
	if err := f.Send(context.Background(), good); err != nil {
		t.Fatal(err)
	}
	if err := h.rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	outs := sink.Outputs()
	if len(outs) != 1 {
		t.Fatalf("%d outputs, want 1", len(outs))
	}
	rep := outs[0].Reports[0].Body.(throughput.Report)
	if rep.Records != 1 || rep.DeadLetters.EventTime != 100 {
		t.Errorf("summary: %d records, dead letters %+v; want 1 and 100 event_time", rep.Records, rep.DeadLetters)
	}
}
