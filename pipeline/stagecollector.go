package pipeline

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// stageCollector exposes weir_stage_seconds_total, computed from the stages' clocks at scrape
// time, so the counter is exact without a goroutine mirroring it.
type stageCollector struct {
	desc   *prometheus.Desc
	mu     sync.Mutex
	stages map[string]*stageClocks
}

func newStageCollector() *stageCollector {
	return &stageCollector{
		desc: prometheus.NewDesc("weir_stage_seconds_total",
			"Time the goroutines of a stage spent in each state (busy, idle, backpressured).",
			[]string{"stage", "state"}, nil),
		stages: make(map[string]*stageClocks),
	}
}

// stage returns the named stage, creating it on first use.
func (c *stageCollector) stage(name string) *stageClocks {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.stages[name]
	if !ok {
		s = newStageClocks()
		c.stages[name] = s
	}
	return s
}

// lookup returns the named stage without creating it.
func (c *stageCollector) lookup(name string) (*stageClocks, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.stages[name]
	return s, ok
}

func (c *stageCollector) all() map[string]*stageClocks {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]*stageClocks, len(c.stages))
	for k, v := range c.stages {
		out[k] = v
	}
	return out
}

// Describe implements prometheus.Collector.
func (c *stageCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *stageCollector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now().UnixNano()
	for name, s := range c.all() {
		totals := s.totals(now)
		for st := StageState(0); st < numStageStates; st++ {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue,
				float64(totals[st])/1e9, name, st.String())
		}
	}
}

// StageClock returns a new clock registered in the named stage ("source", "runner", "sink",
// …); call Retire when its goroutine ends.
func (m *Metrics) StageClock(stage string) *StageClock {
	c := NewStageClock()
	m.stages.stage(stage).add(c)
	return c
}

// RetireStageClock removes a clock from its stage, keeping its time in the stage's totals.
func (m *Metrics) RetireStageClock(stage string, c *StageClock) {
	m.stages.stage(stage).remove(c)
}

// StageTotals returns the time the goroutines of a stage have spent in each state so far: every
// clock the stage ever had, retired ones included, up to now. It is weir_stage_seconds_total
// without a scrape; the scaling signal's busy fraction is its change over a period. All zero
// for a stage that has had no clock yet.
func (m *Metrics) StageTotals(stage string) (busy, backpressured, idle time.Duration) {
	s, ok := m.stages.lookup(stage)
	if !ok {
		return 0, 0, 0
	}
	t := s.totals(time.Now().UnixNano())
	return time.Duration(t[StageBusy]), time.Duration(t[StageBackpressured]), time.Duration(t[StageIdle])
}
