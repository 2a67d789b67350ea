package scaling

import (
	"sync"
	"time"

	"github.com/weirstream/weir/lag"
)

// Meter measures the Inputs for a Publisher: its Measure method is the Publisher's Measure.
// The whole-topic figures (arrival rate, group lag, partitions, members) come from the lag
// Tracker's Fleet, which the source's poller keeps current; when that is missing or stale the
// Meter falls back to this worker's own partitions, which understates the fleet's work but
// never invents it. The task's own figures come from the runtime.
type Meter struct {
	Tracker *lag.Tracker
	// Records returns the runtime's processed-record total (pipeline.Runtime.Stats().Records).
	Records func() int64
	// Busy returns the task's busy fraction since its previous call, in [0, 1] (see
	// BusyFraction); nil reports 1, which makes the true rate the observed rate (conservative:
	// never assumes spare capacity it has not measured).
	Busy func() float64
	// Span is the period rates are averaged over, the Publisher's Config.Period.
	Span time.Duration
	// Hold is how long records normally stay uncommitted because their window is still open:
	// the window period plus the allowed lateness. Lag is end − committed, so at a steady state
	// it includes about ArrivalRate × Hold records that are processed, merely not yet in a
	// durable window; they are not backlog, and counting them would inflate the desired tasks
	// and, against scale_down_max_backlog, could forbid every scale-down of a busy fleet. The
	// Meter deducts them (never below zero). 0 deducts nothing.
	Hold time.Duration

	mu          sync.Mutex
	prevRecords int64
	prevAt      time.Time
}

// Measure implements Publisher.Measure. It reads already-computed state and a few atomics; it
// never blocks on I/O.
func (m *Meter) Measure(now time.Time) Inputs {
	var in Inputs
	if f, ok := m.Tracker.Fleet(now, m.Span); ok {
		in.ArrivalRate = f.ArrivalRate
		in.LagSum, in.LagMax = float64(f.LagSum), float64(f.LagMax)
		in.Partitions, in.CurrentTasks = f.Partitions, f.Members
	} else {
		r := m.Tracker.Snapshot(now)
		in.ArrivalRate = r.Total.ArrivalRate
		in.LagSum, in.LagMax = float64(r.Total.RecordsSum), float64(r.Total.RecordsMax)
	}
	if m.Hold > 0 && in.ArrivalRate > 0 {
		held := in.ArrivalRate * m.Hold.Seconds()
		in.LagSum = max(0, in.LagSum-held)
		if in.Partitions > 0 {
			in.LagMax = max(0, in.LagMax-held/float64(in.Partitions))
		}
	}
	// This task's rate and busy fraction stand for every task's: the fleet is sized as
	// CurrentTasks copies of this one (the per-task view the fleet's Sizer replaces).
	busy := 1.0
	if m.Busy != nil {
		busy = min(nonNegative(m.Busy()), 1)
	}
	copies := float64(max(in.CurrentTasks, 1))
	in.ProcessedRate = m.observedRate(now) * copies
	// A busy fraction of exactly 0 is a measurement (Desired floors it), not "unmeasured".
	in.CPURate, in.VCPUsPerTask = max(busy, 1e-9)*copies, 1
	return in
}

// observedRate is the records processed per second since the previous call; on the first
// call, the tracked partitions' processing rate over the lag window stands in.
func (m *Meter) observedRate(now time.Time) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Records == nil {
		return m.Tracker.Snapshot(now).Total.Rate
	}
	n := m.Records()
	prevAt, prev := m.prevAt, m.prevRecords
	m.prevAt, m.prevRecords = now, n
	if dt := now.Sub(prevAt).Seconds(); !prevAt.IsZero() && dt > 0 {
		return max(0, float64(n-prev)/dt)
	}
	return m.Tracker.Snapshot(now).Total.Rate
}
