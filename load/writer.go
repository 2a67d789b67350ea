package load

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/weirstream/weir/pipeline"
)

// Store is where load reports go: sinks/s3.PartialStore and sinks/file.PartialStore.
type Store interface {
	// WriteLoad stores worker's report for the period starting at start, replacing any
	// earlier one.
	WriteLoad(ctx context.Context, start time.Time, worker string, body []byte) error
}

// Writer writes this worker's load report at the end of every period, on the period grid
// (every worker's report of one period carries the same start). The worker's run group runs
// it; it needs nothing from the aggregator.
type Writer struct {
	// Worker names this process in the reports' keys and bodies: unique in the fleet.
	Worker string
	// Period is the scaling period (scaling.Config.Period).
	Period time.Duration
	// VCPUs is the task's CPU (VCPUs).
	VCPUs float64
	Store Store
	// Counters returns the worker's totals. Called from Run's goroutine once per period; it
	// must not block.
	Counters func() Counters
	// CPU returns the process's CPU time so far; nil means ProcessCPU.
	CPU func() (time.Duration, bool)
	// Logger and Metrics are optional.
	Logger  *slog.Logger
	Metrics *Metrics

	// The totals at the previous report (or at Begin), touched by Run's goroutine only.
	begun   bool
	prevAt  time.Time
	records int64
	cpu     time.Duration
	cpuOK   bool
	parts   map[pipeline.Partition]partitionMark

	mu   sync.Mutex
	last *Report
}

type partitionMark struct {
	since    time.Time
	records  int64
	behind   int64
	behindAt int64 // Unix ns; 0 unknown
}

// Begin takes the baseline the first report is measured from. Run calls it; tests call it
// with their clock.
func (w *Writer) Begin(now time.Time) {
	c := w.Counters()
	w.prevAt, w.records = now, c.Records
	w.cpu, w.cpuOK = w.readCPU()
	w.parts = make(map[pipeline.Partition]partitionMark, len(c.Partitions))
	for _, p := range c.Partitions {
		w.parts[p.Partition] = partitionMark{since: p.Since, records: p.Records, behind: p.MillisBehind,
			behindAt: unixNano(p.MillisBehindAt)}
	}
	w.begun = true
}

// Tick builds the report of the time since the previous one (or Begin), ending at now, files
// it under the period now closes (now truncated to the period, minus one period) and writes
// it. It returns the report, written or not.
func (w *Writer) Tick(ctx context.Context, now time.Time) (*Report, error) {
	if !w.begun {
		w.Begin(now)
		return nil, errors.New("load: Tick before Begin: took the baseline instead")
	}
	seconds := now.Sub(w.prevAt).Seconds()
	if seconds <= 0 {
		return nil, fmt.Errorf("load: no time passed since the last report (%v)", w.prevAt)
	}
	c := w.Counters()
	cpu, cpuOK := w.readCPU()
	r := &Report{
		V: Version, Worker: w.Worker, Start: now.Truncate(w.Period).Add(-w.Period).UnixNano(),
		Seconds: seconds, VCPUs: w.VCPUs, Records: c.Records - w.records, CPUSeconds: -1,
		Partitions: make([]Partition, 0, len(c.Partitions)),
	}
	if r.Records < 0 { // the totals started again: count what there is
		r.Records = c.Records
	}
	if cpuOK && w.cpuOK && cpu >= w.cpu {
		r.CPUSeconds = (cpu - w.cpu).Seconds()
	}
	parts := make(map[pipeline.Partition]partitionMark, len(c.Partitions))
	for _, pc := range c.Partitions {
		p := Partition{Stream: pc.Partition.Stream, ID: pc.Partition.ID, MillisBehind: max(pc.MillisBehind, Unknown),
			MillisBehindStart: Unknown, MillisBehindAt: unixNano(pc.MillisBehindAt)}
		if p.MillisBehind == Unknown {
			p.MillisBehindAt = 0
		}
		if prev, ok := w.parts[pc.Partition]; ok && prev.since.Equal(pc.Since) && pc.Records >= prev.records {
			// Owned through the whole interval.
			p.Records, p.Seconds = pc.Records-prev.records, seconds
			p.MillisBehindStart, p.MillisBehindStartAt = prev.behind, prev.behindAt
		} else {
			// Taken during the interval: everything since it was taken.
			from := w.prevAt
			if pc.Since.After(from) {
				from = pc.Since
			}
			p.Records, p.Seconds = pc.Records, min(max(now.Sub(from).Seconds(), 0), seconds)
		}
		r.Partitions = append(r.Partitions, p)
		parts[pc.Partition] = partitionMark{since: pc.Since, records: pc.Records, behind: p.MillisBehind,
			behindAt: p.MillisBehindAt}
	}
	w.prevAt, w.records, w.cpu, w.cpuOK, w.parts = now, c.Records, cpu, cpuOK, parts

	w.mu.Lock()
	w.last = r
	w.mu.Unlock()
	if w.Metrics != nil {
		w.Metrics.vcpus.Set(r.VCPUs)
		if r.CPUSeconds >= 0 {
			w.Metrics.utilization.Set(r.CPUSeconds / r.Seconds / r.VCPUs)
		}
	}
	err := w.write(ctx, r)
	if w.Metrics != nil {
		outcome := "written"
		if err != nil {
			outcome = "failed"
		}
		w.Metrics.reports.WithLabelValues(outcome).Inc()
	}
	return r, err
}

func (w *Writer) write(ctx context.Context, r *Report) error {
	body, err := Encode(r)
	if err != nil {
		return err
	}
	// A store that hangs must not make reports pile up: each has one period to be written.
	ctx, cancel := context.WithTimeout(ctx, w.Period)
	defer cancel()
	if err := w.Store.WriteLoad(ctx, time.Unix(0, r.Start).UTC(), w.Worker, body); err != nil {
		return fmt.Errorf("load: writing the report of %s: %w", time.Unix(0, r.Start).UTC().Format(time.RFC3339), err)
	}
	return nil
}

// unixNano is t in Unix ns, 0 for the zero time (unknown).
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return max(t.UnixNano(), 0)
}

func (w *Writer) readCPU() (time.Duration, bool) {
	if w.CPU != nil {
		return w.CPU()
	}
	return ProcessCPU()
}

// Last returns the latest report this worker built (written or not), for GET /v1/scaling on
// a worker that is not the aggregator.
func (w *Writer) Last() (Report, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last == nil {
		return Report{}, false
	}
	return *w.last, true
}

// Run writes a report at every period boundary until ctx ends, and returns nil then. A report
// that cannot be written is counted (weir_load_reports_total{outcome="failed"}) and logged;
// the next period's is written as usual (each period has its own object, so there is nothing
// to catch up).
func (w *Writer) Run(ctx context.Context) error {
	switch {
	case w.Period < time.Second:
		return fmt.Errorf("load: period %v is below 1s", w.Period)
	case w.Worker == "" || w.Store == nil || w.Counters == nil:
		return errors.New("load: Writer needs Worker, Store and Counters")
	case w.VCPUs <= 0:
		return fmt.Errorf("load: vcpus %v", w.VCPUs)
	}
	log := w.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w.Begin(time.Now())
	OnGrid(ctx, w.Period, 0, func(now time.Time) {
		if _, err := w.Tick(ctx, now); err != nil && ctx.Err() == nil {
			log.Warn("load report not written; the fleet's sizing misses this worker for one period", "err", err)
		}
	})
	return nil
}
