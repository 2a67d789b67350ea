package pipeline_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/pipeline/pipelinetest"
)

// A partition whose every record is undecodable (a wrong format, a wrong time field) is loud:
// a warning naming the reason and an example once the idle timeout passed, at most one a
// minute; the partials count them. Such a run once logged nothing at all.
func TestDeadLettersWithNoUsableRecordAreLogged(t *testing.T) {
	cfg := pipeline.DefaultWindowConfig()
	cfg.Period = 10 * time.Second
	cfg.TimeField = "$.ts"
	clock := &fakeClock{now: time.Date(2026, 11, 21, 13, 0, 3, 0, time.UTC)}
	store := &pipelinetest.MemStore{}
	logs := &logLines{}
	h := newHarness(t, cfg, decode.NewPlan(decode.JSON), store, withClock(clock), withLog(logs))
	p := pipeline.Partition{Stream: "events", ID: "0"}
	f, _ := h.rt.Assign(p, nil)
	next := int64(0)
	sendBad := func() {
		bad := pipeline.Batch{Partition: p}
		for range 100 {
			bad.Records = append(bad.Records, pipeline.Record{Partition: p, Position: pipeline.Position{Offset: next},
				Value: []byte(`{"time":"2026-11-21T13:00:03Z"}`)}) // no $.ts
			next++
		}
		if err := f.Send(context.Background(), bad); err != nil {
			t.Fatal(err)
		}
	}
	sendBad()
	warned := func() int { return strings.Count(logs.String(), "reason=event_time") }
	// Each batch is read before the clock moves: a batch read after the move sees the later
	// time as its arrival, and the idle timeout the test waits for would never pass.
	pipelinetest.WaitFor(t, func() bool { return h.rt.Stats().DeadLetters == 100 })
	if warned() != 0 {
		t.Fatalf("warned before the idle timeout:\n%s", logs)
	}
	clock.advance(cfg.IdleTimeout)
	pipelinetest.WaitFor(t, func() bool { return warned() == 1 })
	if out := logs.String(); !strings.Contains(out, "records=100") ||
		!strings.Contains(out, `example.detail="time field is missing"`) {
		t.Errorf("the warning does not name the reason, the count and an example:\n%s", out)
	}
	sendBad()
	clock.advance(30 * time.Second)
	pipelinetest.WaitFor(t, func() bool { return h.rt.Stats().DeadLetters == 200 })
	time.Sleep(50 * time.Millisecond)
	if warned() != 1 {
		t.Errorf("%d warnings within a minute, want 1", warned())
	}
	clock.advance(31 * time.Second)
	sendBad()
	pipelinetest.WaitFor(t, func() bool { return h.rt.Stats().DeadLetters == 300 })
	clock.advance(20 * time.Second)
	pipelinetest.WaitFor(t, func() bool { return warned() == 2 })
	if !strings.Contains(logs.String(), "similar_warnings_suppressed=") {
		t.Errorf("the second warning does not say how many it stands for:\n%s", logs)
	}
	good := pipeline.Batch{Partition: p, Records: []pipeline.Record{stamped(p, next, clock.Now())}}
	if err := f.Send(context.Background(), good); err != nil {
		t.Fatal(err)
	}
	pipelinetest.WaitFor(t, func() bool { return h.rt.Stats().Records == next+1 }) // read at the clock it was stamped with
	for range 60 {                                                                 // a minute, seen by the runner second by second: a quiet spell, not a freeze
		clock.advance(time.Second)
		waitLooked(t, h.rt, clock, p)
	}
	var records, eventTime int64
	pipelinetest.WaitFor(t, func() bool {
		records, eventTime = 0, 0
		for _, pt := range store.Partials(t) {
			c := pipelinetest.Throughput(t, pt)
			records += c.Records
			eventTime += c.DeadLetters.EventTime
			if pt.Dropped["event_time"] != c.DeadLetters.EventTime {
				t.Fatalf("partial %+v: dropped and its throughput state differ", pt)
			}
		}
		return records == 1 && eventTime == 300
	})
	if err := h.rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}
