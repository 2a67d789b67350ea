package pipeline_test

import (
	"testing"

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
	s.sendOnTimeDuring(p, start, freeze, "the freeze")
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
