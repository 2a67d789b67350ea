package pipeline_test

import (
	"testing"
	"time"

	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/pipeline/pipelinetest"
)

// A worker frozen for twice the idle timeout (SIGSTOP, a suspended laptop, a throttled
// container) while its producer carries on: the partition's last batch said it was caught up,
// so on the first tick after the freeze it looks quiet. The records that reached the broker
// on time during the freeze, fetched right after it, must count in their windows, not be
// dead-lettered late.
func TestEventTimeFrozenWorkerMakesNothingLate(t *testing.T) {
	s, cfg := liveStream(t, 1, nil)
	p := s.part(0)
	s.burst(noSkew) // 13:00:03 to 13:00:05, caught up after each batch
	start := s.clock.Now()
	freeze := 2 * cfg.IdleTimeout
	s.clock.advance(freeze) // frozen: nothing read, no tick
	s.look()                // the first tick after the freeze, before the source's first fetch
	// What reached the broker during the freeze, a record every 500 ms, each stamped when it
	// was sent: all on time (their windows end after their stamps).
	var ts []time.Time
	for d := 500 * time.Millisecond; d <= freeze; d += 500 * time.Millisecond {
		ts = append(ts, start.Add(d))
	}
	s.send(p, false, ts...)
	s.settle()
	if n := metrictest.Sum(t, s.h.reg, "weir_late_records_total", nil); n != 0 {
		t.Errorf("%v of %d records sent on time during the freeze were late", n, len(ts))
	}
	s.finish()
}

// A partition that is really quiet through a freeze still closes its windows on the wall
// clock (rule 5): once the idle timeout has passed after the freeze, with no fetch needed.
func TestEventTimeFrozenQuietPartitionStillCloses(t *testing.T) {
	s, cfg := liveStream(t, 2, nil)
	s.burst(noSkew)
	s.clock.advance(2 * cfg.IdleTimeout) // frozen
	s.look()
	if n := s.counted(); n != 0 {
		t.Fatalf("%d records counted in windows closed on the first tick after the freeze", n)
	}
	s.pass(cfg.IdleTimeout)
	// No clock move from here: only the ticks at the idle deadline after the freeze can close.
	pipelinetest.WaitFor(t, func() bool { return s.counted() == s.sent },
		"the windows did not close an idle timeout after the freeze")
	s.finish()
}
