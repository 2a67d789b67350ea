package pipeline_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/pipelinetest"
)

// The tests of rule 4's confirmations (caughtup.go): a source that confirms its partitions
// caught up (Batch.CaughtUpAt), as the Kafka and Kinesis sources do, on a clock the test moves.

// confirm has the source confirm every partition caught up as of the clock's time, and waits
// until the runners have taken the confirmation.
func (s *stream) confirm() {
	s.t.Helper()
	at := s.clock.Now()
	for p, f := range s.feeds {
		taken := make(chan struct{})
		if err := f.Send(context.Background(), pipeline.Batch{Partition: p, CaughtUpAt: at, Done: func() { close(taken) }}); err != nil {
			s.t.Fatal(err)
		}
		<-taken
	}
}

// passConfirmed is pass with the source confirming every partition at each second, before the
// runners look at the clock.
func (s *stream) passConfirmed(d time.Duration) {
	s.t.Helper()
	for step := time.Duration(0); step < d; step += time.Second {
		s.clock.advance(min(time.Second, d-step))
		s.confirm()
		s.look()
	}
}

func unconfirmed(t *testing.T, s *stream) float64 {
	return metrictest.Sum(t, s.h.reg, "weir_partitions_unconfirmed", nil)
}

// A fetch that hangs for twice the idle timeout while the worker keeps ticking: the source
// confirmed the partition caught up, then stops confirming (its requests do not answer), and
// the records that reached the broker on time meanwhile, a record every 500 ms stamped when it
// was sent, come when the fetch answers again. None is late: the wall clock took the watermark
// no further than the last confirmation. Meanwhile weir_partitions_unconfirmed says the
// partition is stuck, not quiet.
func TestEventTimeHungFetchMakesNothingLate(t *testing.T) {
	var log logLines
	s, cfg := liveStream(t, 1, nil, withLog(&log))
	p := s.part(0)
	s.confirm()
	s.burst(noSkew) // 13:00:03 to 13:00:05, caught up after each batch
	s.confirm()
	start := s.clock.Now()
	hang := 2 * cfg.IdleTimeout
	s.pass(hang) // ticking, no confirmation
	if n := unconfirmed(t, s); n != 1 {
		t.Errorf("weir_partitions_unconfirmed is %v after the source stopped confirming, want 1", n)
	}
	if !strings.Contains(log.String(), "stopped confirming") {
		t.Errorf("no log line says the partition's source stopped confirming:\n%s", log.String())
	}
	s.sendOnTimeDuring(p, start, hang, "the hang")
	s.passConfirmed(cfg.IdleTimeout)
	if n := unconfirmed(t, s); n != 0 {
		t.Errorf("weir_partitions_unconfirmed is %v once the source confirms again, want 0", n)
	}
	s.passConfirmed(time.Minute)
	s.finish()
}

// A quiet partition whose source keeps confirming it closes its windows on the wall clock as
// before: once window end + allowed lateness has passed, with the idle timeout.
func TestEventTimeConfirmedQuietPartitionCloses(t *testing.T) {
	s, cfg := liveStream(t, 2, nil)
	s.confirm()
	s.burst(noSkew) // into the window 13:00:00-13:00:10, the last record at 13:00:05
	if cfg.IdleTimeout != 10*time.Second || cfg.AllowedLateness != 5*time.Second {
		t.Fatalf("the test's times are for the default idle timeout and lateness, not %v and %v", cfg.IdleTimeout, cfg.AllowedLateness)
	}
	s.passConfirmed(9 * time.Second) // 13:00:14
	if n := s.counted(); n != 0 {
		t.Fatalf("%d records counted before their window's end + allowed lateness", n)
	}
	s.passConfirmed(time.Second) // 13:00:15
	pipelinetest.WaitFor(t, func() bool { return s.counted() == s.sent },
		"the window did not close at its end + allowed lateness")
	if n := unconfirmed(t, s); n != 0 {
		t.Errorf("weir_partitions_unconfirmed is %v for partitions confirmed every second, want 0", n)
	}
	s.finish()
}

// A broker out of reach for ten minutes: its partition's windows wait (the one partition that
// cannot confirm holds its own windows, the other closes them), and close once it confirms
// again.
func TestEventTimeUnconfirmedPartitionWaits(t *testing.T) {
	s, cfg := liveStream(t, 2, nil)
	s.confirm()
	s.burst(noSkew)
	p0 := s.part(0)
	for range int(10 * time.Minute / time.Second) { // only partition 1 confirms
		s.clock.advance(time.Second)
		at := s.clock.Now()
		taken := make(chan struct{})
		if err := s.feeds[s.part(1)].Send(context.Background(), pipeline.Batch{Partition: s.part(1), CaughtUpAt: at,
			Done: func() { close(taken) }}); err != nil {
			t.Fatal(err)
		}
		<-taken
		s.look()
	}
	got := pipelinetest.Summaries(t, s.h.store)
	for w, parts := range got {
		if parts[p0.ID] > 0 {
			t.Errorf("partition 0 wrote window %v while its source could not confirm it", w.Format(time.TimeOnly))
		}
	}
	if len(got) == 0 {
		t.Errorf("partition 1, confirmed every second, wrote nothing in ten minutes")
	}
	if n := unconfirmed(t, s); n != 1 {
		t.Errorf("weir_partitions_unconfirmed is %v, want 1", n)
	}
	s.passConfirmed(cfg.IdleTimeout)
	s.finish()
}

// A source that confirms less often than the idle timeout (here every 25 s, the idle timeout
// 10 s) is not taken for stuck between two confirmations: the gauge waits for two of its own
// intervals.
func TestEventTimeSlowConfirmationsAreNotStuck(t *testing.T) {
	s, cfg := liveStream(t, 1, nil)
	every := 25 * time.Second
	if every < 2*cfg.IdleTimeout {
		t.Fatalf("the confirmations every %v are not slower than twice the idle timeout %v", every, cfg.IdleTimeout)
	}
	s.confirm() // the runner learns the source's interval from two confirmations
	s.pass(every)
	s.confirm()
	last := s.clock.Now()
	s.burst(noSkew)
	for step := time.Duration(0); step < 5*time.Minute; step += time.Second {
		if now := s.clock.advance(time.Second); now.Sub(last) >= every {
			s.confirm()
			last = now
		}
		s.look()
		if n := unconfirmed(t, s); n != 0 {
			t.Fatalf("weir_partitions_unconfirmed is %v %v into confirmations every %v", n, step, every)
		}
	}
	s.passConfirmed(time.Second)
	s.finish()
}
