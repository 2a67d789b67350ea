package pipeline

import (
	"sync"
	"sync/atomic"
	"time"
)

// StageState is what a stage's goroutine is doing, in Flink's sense: busy processing, idle
// waiting for input, or backpressured waiting for room downstream. Over any interval the three
// add up to the wall time, so "ms per second" of each sum to ~1000.
type StageState int32

// The stage states.
const (
	StageIdle StageState = iota
	StageBusy
	StageBackpressured
	numStageStates
)

var stageStateNames = [numStageStates]string{"idle", "busy", "backpressured"}

func (s StageState) String() string { return stageStateNames[s] }

// StageClock accounts one goroutine's time to the three states. Only the owning goroutine calls
// Enter; readers (the metrics ticker) read totals concurrently through atomics. Transitions
// happen per batch or per blocking call, never per record.
type StageClock struct {
	totals [numStageStates]atomic.Int64 // nanoseconds spent in each state, excluding the current one
	state  atomic.Int32
	since  atomic.Int64 // Unix nanoseconds when the current state was entered
}

// NewStageClock returns a clock that starts idle now.
func NewStageClock() *StageClock {
	c := &StageClock{}
	c.since.Store(time.Now().UnixNano())
	return c
}

// Enter switches the clock to state s (a no-op if already there).
func (c *StageClock) Enter(s StageState) {
	cur := StageState(c.state.Load())
	if cur == s {
		return
	}
	now := time.Now().UnixNano()
	c.totals[cur].Add(now - c.since.Load())
	c.since.Store(now)
	c.state.Store(int32(s))
}

// snapshot returns the time spent in each state up to now, including the current stretch.
// Concurrent with Enter it may be off by one transition, which a per-second rate tolerates.
func (c *StageClock) snapshot(now int64) [numStageStates]int64 {
	var out [numStageStates]int64
	for i := range out {
		out[i] = c.totals[i].Load()
	}
	cur := StageState(c.state.Load())
	if d := now - c.since.Load(); d > 0 {
		out[cur] += d
	}
	return out
}

// stageClocks groups the clocks of one stage (one per runner, one per sink writer) and turns
// them into the stage's average milliseconds per second in each state.
type stageClocks struct {
	mu      sync.Mutex
	clocks  map[*StageClock]struct{}
	retired [numStageStates]int64 // totals of clocks that were removed, so counters never go back
	last    [numStageStates]int64
	lastAt  int64
}

func newStageClocks() *stageClocks {
	return &stageClocks{clocks: make(map[*StageClock]struct{}), lastAt: time.Now().UnixNano()}
}

func (s *stageClocks) add(c *StageClock) {
	s.mu.Lock()
	s.clocks[c] = struct{}{}
	s.mu.Unlock()
}

func (s *stageClocks) remove(c *StageClock) {
	s.mu.Lock()
	snap := c.snapshot(time.Now().UnixNano())
	for i := range snap {
		s.retired[i] += snap[i]
	}
	delete(s.clocks, c)
	s.mu.Unlock()
}

// totals returns the cumulative seconds in each state over all clocks ever in the stage.
func (s *stageClocks) totals(now int64) [numStageStates]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.totalsLocked(now)
}

func (s *stageClocks) totalsLocked(now int64) [numStageStates]int64 {
	out := s.retired
	for c := range s.clocks {
		snap := c.snapshot(now)
		for i := range snap {
			out[i] += snap[i]
		}
	}
	return out
}

// perSecond returns the average milliseconds per second spent in each state since the previous
// call, averaged over the stage's current clocks (Flink reports per subtask; the average is the
// stage's typical subtask).
func (s *stageClocks) perSecond(now int64) [numStageStates]float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.totalsLocked(now)
	var out [numStageStates]float64
	elapsed := now - s.lastAt
	n := len(s.clocks)
	if elapsed > 0 && n > 0 {
		for i := range cur {
			out[i] = float64(cur[i]-s.last[i]) / float64(elapsed) * 1000 / float64(n)
		}
	}
	s.last, s.lastAt = cur, now
	return out
}

// Totals returns the time spent busy, backpressured and idle so far, the current stretch
// included.
func (c *StageClock) Totals() (busy, backpressured, idle time.Duration) {
	s := c.snapshot(time.Now().UnixNano())
	return time.Duration(s[StageBusy]), time.Duration(s[StageBackpressured]), time.Duration(s[StageIdle])
}
