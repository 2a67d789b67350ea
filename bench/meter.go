package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

// meter watches a running consumer from the outside: when it began fetching, when it had
// processed every record, the CPU time in between, and a time series of its progress. Every
// kind of run is measured by the same meter, so baselines and weir are timed alike: from the
// start of fetching (connecting and joining a group are not the drain, but the first fetch is:
// timing from the first record seen would give every consumer its first, largest fetch for
// free) to the last record processed.
type meter struct {
	name string
	want int64
	// begun reports when fetching began, once it has: the first Fetch request written for the
	// baselines, the partitions' assignment for weir (whose client is internal; its first fetch
	// follows within milliseconds, which the timing charges to weir).
	begun    func() (time.Time, bool)
	count    func() int64 // records processed so far
	inFlight func() int64 // in-flight bytes now; nil for the baselines
	heap     *heapReader  // the runtime's heap figures with every sample; nil for the baselines
	pooled   func() int64 // bytes idle in the source's free lists; nil for the baselines
	progress io.Writer

	first, drained time.Time
	cpu            time.Duration // CPU time between first and drained
	series         []sample
	peakInFlight   int64
	// onSample, if set, is called with every sample (the stall scenario watches the series).
	onSample func(sample)
}

// run blocks until count reaches want or ctx ends.
func (m *meter) run(ctx context.Context) error {
	for {
		if t, ok := m.begun(); ok {
			m.first = t
			break
		}
		if err := sleep(ctx, time.Millisecond); err != nil {
			return fmt.Errorf("%s: fetching never began: %w", m.name, err)
		}
	}
	cpu0 := cpuTime()
	nextSample, nextPrint := m.first, m.first.Add(time.Second)
	for {
		n := m.count()
		now := time.Now()
		if m.inFlight != nil {
			m.peakInFlight = max(m.peakInFlight, m.inFlight())
		}
		if n >= m.want {
			m.drained, m.cpu = now, cpuTime()-cpu0
			m.add(now, n)
			return nil
		}
		if !now.Before(nextSample) {
			m.add(now, n)
			nextSample = nextSample.Add(sampleEvery)
		}
		if !now.Before(nextPrint) {
			m.print(now, n)
			nextPrint = nextPrint.Add(time.Second)
		}
		if err := sleep(ctx, 2*time.Millisecond); err != nil {
			return fmt.Errorf("%s: %d of %d records after %v: %w", m.name, n, m.want, now.Sub(m.first).Round(time.Millisecond), err)
		}
	}
}

func (m *meter) add(now time.Time, n int64) {
	s := sample{T: now.Sub(m.first).Seconds(), Records: n, RSS: readMem().RSS}
	if m.inFlight != nil {
		s.InFlight = m.inFlight()
	}
	if m.pooled != nil {
		s.Pooled = m.pooled()
	}
	if m.heap != nil {
		h := m.heap.read()
		s.Heap = &h
	}
	m.series = append(m.series, s)
	if m.onSample != nil {
		m.onSample(s)
	}
}

// print writes a progress line: records so far and the rate over the last second.
func (m *meter) print(now time.Time, n int64) {
	rate := 0.0
	if k := len(m.series); k > 10 {
		a, b := m.series[k-11], m.series[k-1]
		rate = float64(b.Records-a.Records) / (b.T - a.T)
	}
	fmt.Fprintf(m.progress, "bench: %-16s %6.1fs %9d/%d records %8.0f rec/s rss %4d MiB\n", m.name,
		now.Sub(m.first).Seconds(), n, m.want, rate, readMem().RSS>>20)
}

// fill puts the meter's measurements into r.
func (m *meter) fill(r *result) {
	r.Seconds = m.drained.Sub(m.first).Seconds()
	r.CPUSeconds = m.cpu.Seconds()
	if r.Seconds > 0 {
		r.RecordsPerSec = float64(r.Records) / r.Seconds
		r.MBPerSec = float64(r.Bytes) / 1e6 / r.Seconds
	}
	if r.CPUSeconds > 0 {
		r.RecordsPerCPUSec = float64(r.Records) / r.CPUSeconds
	}
	r.Series = m.series
	r.InFlightPeakBytes = m.peakInFlight
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
