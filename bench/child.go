package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/worker"
)

// runChild measures one spec in this process and writes the result as one JSON line on out.
// The orchestrator starts a child per run, so the peak RSS and CPU time in the result are the
// scenario's own, not the broker's, the producer's or another scenario's.
func runChild(ctx context.Context, sp spec, out, progress io.Writer) error {
	var (
		r   *result
		err error
	)
	if sp.Profile != "" {
		// Sampled every 64 KiB instead of 512: the heap profiles' sites of a few MiB are then
		// estimated from hundreds of samples, not tens.
		runtime.MemProfileRate = 64 << 10
	}
	switch sp.Kind {
	case kindPoll, kindDecode, kindParallel:
		r, err = runBaseline(ctx, sp, progress)
	case kindPipeline:
		r, err = runPipeline(ctx, sp, out, progress)
	default:
		err = fmt.Errorf("unknown kind %q", sp.Kind)
	}
	if err != nil {
		return err
	}
	r.PeakRSSBytes = readMem().Peak
	return json.NewEncoder(out).Encode(r)
}

// readyLine is what a live child prints on stdout once it owns every partition, so the
// orchestrator starts the producer only then (no backlog builds while the group forms).
const readyLine = "ready"

// runPipeline drains sp.Records through a worker and shuts it down as a SIGTERM does.
func runPipeline(ctx context.Context, sp spec, out, progress io.Writer) (*result, error) {
	var (
		h     worker.Hooks
		st    *staller
		probe *latencyProbe
	)
	if sp.StallFor > 0 {
		st = newStaller(sp.StallFor)
		h.WrapPartials = st.wrap
	}
	if sp.Live && sp.SampleEvery > 0 {
		probe = newLatencyProbe(sp.SampleEvery)
		h.Operators = append(h.Operators, probe)
		h.WrapPartials = probe.wrapPartials(workerConfig(sp).Window.Period)
	}
	if !sp.StoreLatency.zero() {
		// Outermost: the slow store's delay is the store's, so the stall and the probe's
		// timer, inside it, see the write when the store would.
		inner := h.WrapPartials
		h.WrapPartials = func(w pipeline.PartialWriter) pipeline.PartialWriter {
			if inner != nil {
				w = inner(w)
			}
			return sp.StoreLatency.wrap(w)
		}
	}
	w, err := buildWorker(ctx, sp, h)
	if err != nil {
		return nil, err
	}
	w.start()
	if sp.Live {
		for w.Stats().Partitions < partitions {
			if err := sleep(ctx, 10*time.Millisecond); err != nil {
				return nil, fmt.Errorf("%s: waiting for the partitions: %w", sp.Name, err)
			}
		}
		fmt.Fprintln(out, readyLine)
	}
	begun := func() (time.Time, bool) { return time.Now(), w.Stats().Partitions > 0 }
	m := &meter{name: sp.Name, want: sp.Records, begun: begun, count: func() int64 { return w.Stats().Records },
		inFlight: w.Budget().InUse, heap: newHeapReader(), pooled: w.PooledBytes, progress: progress}
	if st != nil {
		m.onSample = func(s sample) {
			if sp.stallDue(s) {
				st.arm()
			}
		}
	}
	prof, err := startProfile(sp)
	if err != nil {
		return nil, err
	}
	if st != nil {
		st.snap = func(label string) {
			if err := prof.heapAt(label); err != nil {
				fmt.Fprintf(progress, "bench: %s: heap profile at %s: %v\n", sp.Name, label, err)
			}
		}
		if prof.heap != "" {
			arm, peaks := m.onSample, newCatchUpPeaks(st, prof)
			m.onSample = func(s sample) {
				arm(s)
				if err := peaks.see(s); err != nil {
					fmt.Fprintf(progress, "bench: %s: heap profile at a catch-up peak: %v\n", sp.Name, err)
				}
			}
		}
	}
	if err := m.run(ctx); err != nil {
		return nil, err
	}
	if err := prof.stop(); err != nil {
		return nil, err
	}
	if sp.Messy {
		// Every record counted means every window closed and merged: a worker that stops
		// leaves its open windows to the partitions' next owner. The stream is quiet now, so
		// they close on the wall clock (idle timeout, then the allowed lateness).
		wc := workerConfig(sp).Window
		deadline := time.Now().Add(2*(wc.IdleTimeout+wc.AllowedLateness+wc.Period) + 10*time.Second)
		for w.Unflushed() {
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("%s: windows still open long after the last record", sp.Name)
			}
			if err := sleep(ctx, 20*time.Millisecond); err != nil {
				return nil, err
			}
		}
	}
	durable, committed, err := w.stop()
	if err != nil {
		return nil, err
	}
	if n, reasons, err := deadLetters(w.reg); err != nil {
		return nil, err
	} else if n > 0 && !sp.Messy {
		return nil, fmt.Errorf("%s: %d records dead-lettered (%s): the data are valid, so the run measured a broken pipeline", sp.Name, n, reasons)
	}
	ctrs, err := counters(w.reg)
	if err != nil {
		return nil, err
	}
	stats := w.Stats()
	r := &result{Name: sp.Name, Kind: sp.Kind, Format: sp.Format, Records: stats.Records, Bytes: stats.Bytes,
		Partials: stats.Partials, BudgetBytes: w.Budget().Limit(),
		DurableSeconds: durable.Sub(m.first).Seconds(), CommittedSeconds: committed.Sub(m.first).Seconds(),
		Counters: ctrs}
	m.fill(r)
	if st != nil {
		if r.Stall = st.analyze(m.first, m.series, w.Budget().Limit()); r.Stall == nil {
			return nil, fmt.Errorf("%s: the stall never happened (no partial reached the store after %v or %d records)", sp.Name, sp.StallAfter, sp.StallAt)
		}
		if lim := debug.SetMemoryLimit(-1); lim != math.MaxInt64 {
			r.Stall.GoSoftLimitBytes = lim
		}
	}
	if sp.Messy {
		counted, odd, err := countMessy(sp.Dir)
		if err != nil {
			return nil, fmt.Errorf("%s: reading the summary reports: %w", sp.Name, err)
		}
		r.Messy = &messyResult{Counted: counted, Mismatches: odd, BusySeconds: busySeconds(m.series)}
	}
	if probe != nil {
		r.Latency = probe.result()
		r.Latency.AllowedLatenessMS = float64(pipeline.DefaultWindowConfig().AllowedLateness.Milliseconds())
	}
	return r, nil
}
