package main

import (
	"fmt"
	"strings"
)

// markdown renders the report as the summary README.md shows.
func (r *report) markdown() string {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "## weir bench, %s\n\n", r.StartedAt.Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "Machine: %s, %d cores, %.1f GiB, %s, %s; load average at start %s. ", m.CPU, m.Cores, m.MemoryGiB, m.Kernel, m.Go, m.LoadAvg)
	o := r.Options
	fmt.Fprintf(&b, "%d records (JSON ~200 B) in 8 partitions, %d interleaved repetitions in rotated order, budget %d MiB; run took %.0f s.\n\n",
		o.Records, o.Reps, o.BudgetBytes>>20, r.Seconds)

	b.WriteString("| scenario | runs | records/s (median) | min–max | records/CPU-s | MB/s | peak RSS | all windows durable |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range r.Summary {
		durable := "–"
		if s.DurableSeconds > 0 {
			durable = fmt.Sprintf("%.2f s", s.DurableSeconds)
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s–%s | %s | %.0f | %s | %s |\n", s.Name, s.Runs, si(s.RecordsPerSec),
			si(s.RecordsPerSecMin), si(s.RecordsPerSecMax), si(s.RecordsPerCPUSec), s.MBPerSec, mib(s.PeakRSSBytes), durable)
	}

	before := map[string]target{}
	for _, t := range r.TargetsBefore {
		before[t.Name] = t
	}
	if len(before) > 0 {
		b.WriteString("\n| target | before (-before build) | value | want | |\n|---|---:|---:|---|---|\n")
	} else {
		b.WriteString("\n| target | value | want | |\n|---|---:|---|---|\n")
	}
	for _, t := range r.Targets {
		met := "met"
		if !t.Met {
			met = "**not met**"
		}
		if len(before) > 0 {
			was := "–"
			if bt, ok := before[t.Name]; ok {
				was = fmt.Sprintf("%.3g", bt.Value)
			}
			fmt.Fprintf(&b, "| %s | %s | %.3g | %s | %s |\n", t.Name, was, t.Value, t.Want, met)
			continue
		}
		fmt.Fprintf(&b, "| %s | %.3g | %s | %s |\n", t.Name, t.Value, t.Want, met)
	}

	b.WriteString("\n| ratio (same run) | per CPU-second | per repetition | wall clock | per repetition |\n|---|---:|---|---:|---|\n")
	for _, k := range sortedKeys(r.Ratios) {
		q := r.Ratios[k]
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", k, ratioText(q.CPU), ratiosText(q.CPUPerRep), ratioText(q.Wall), ratiosText(q.WallPerRep))
	}

	if runs := r.runsOf("stall"); len(runs) > 0 && runs[0].Stall != nil {
		st := runs[0].Stall
		recovery := fmt.Sprintf("%.2f s", st.RecoverySeconds)
		if st.RecoverySeconds < 0 {
			recovery = "not reached before the backlog ran out"
		}
		vsStandard := ""
		if g, ok := r.stallGrowth(); ok {
			vsStandard = fmt.Sprintf(" (%+.1f%% against the standard runs' peak, whose shorter drains end before their heap is full grown)", 100*g)
		}
		fmt.Fprintf(&b, "\n**stall**: the file sink blocked %.0f s from t=%.1f s. Steady rate before: %s/s; %s records still folded "+
			"during the stall; RSS %s before → %s peak during and after (%+.1f%% within the run%s; %+.1f%% while the store was blocked); in-flight peak %s of a %s budget; "+
			"recovery to ≥ 90%% of the steady rate: %s after the sink returned (mean rate afterwards %s/s).\n",
			st.StallSeconds, st.BeganAt, si(st.SteadyRate), si(float64(st.RecordsDuringStall)), mib(st.RSSBeforeBytes), mib(st.RSSDuringBytes),
			100*st.RSSGrowthInRun, vsStandard, 100*st.RSSGrowthStall, mib(st.InFlightPeakBytes), mib(st.BudgetBytes), recovery, si(st.PostStallRate))
		if b4, af := st.LiveBefore, st.LiveAfter; b4.Collections > 0 && af.Collections > 0 {
			fmt.Fprintf(&b, "\nHeap live after each collection (median / 90th percentile / highest): %s / %s / %s over %d collections before the stall, "+
				"%s / %s / %s over %d after the store returned.\n", mib1(b4.Median), mib1(b4.P90), mib1(b4.Max), b4.Collections,
				mib1(af.Median), mib1(af.P90), mib1(af.Max), af.Collections)
		}
		if st.GoSoftLimitBytes > 0 {
			fmt.Fprintf(&b, "\nThe Go runtime's soft memory limit was %s (-memory-limit).\n", mib(st.GoSoftLimitBytes))
		}
		if st.AtBegin.Heap != nil {
			b.WriteString("\n| stall memory | t (s) | RSS | in flight | pooled | heap objects | heap live (last GC) | heap goal | heap free, resident | heap released | Go mapped | GCs |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
			for _, p := range []struct {
				name string
				s    sample
			}{{"stall begins", st.AtBegin}, {"store returns", st.AtEnd}, {"RSS peak from the stall on", st.AtPeak}} {
				if h := p.s.Heap; h != nil {
					fmt.Fprintf(&b, "| %s | %.1f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d |\n", p.name, p.s.T, mib1(p.s.RSS),
						mib1(p.s.InFlight), mib1(p.s.Pooled), mib1(h.Objects), mib1(h.Live), mib1(h.Goal), mib1(h.Free), mib1(h.Released), mib1(h.Mapped), h.GCs)
				}
			}
		}
	}
	if runs := r.runsOf("latency"); len(runs) > 0 && runs[0].Latency != nil {
		l := runs[0].Latency
		fmt.Fprintf(&b, "\n**latency**: open loop at %s/s offered (%s/s achieved; producer at most %.0f ms behind schedule), one record in %d timed. "+
			"The offered load is %.0f%% of the live capacity, %s/s: what producer, broker and worker sustained together on this machine with the producer offering the drain rate; "+
			"it is %.0f%% of the standard drain rate (%s/s, no producer running).\n\n",
			si(l.TargetRate), si(l.AchievedRate), r.ProducerMaxBehindMS, l.SampleEvery,
			100*l.TargetRate/max(l.LiveCapacity, 1), si(l.LiveCapacity), 100*l.TargetRate/max(l.DrainRate, 1), si(l.DrainRate))
		b.WriteString("| ms | samples | p50 | p90 | p99 | p99.9 | max |\n|---|---:|---:|---:|---:|---:|---:|\n")
		for _, q := range []struct {
			name string
			q    quantiles
		}{{"broker append → window state", l.ToState}, {"(uncorrected: actual send → state)", l.FromSent},
			{"window end → sink write issued", l.ToSink}} {
			fmt.Fprintf(&b, "| %s | %d | %.1f | %.1f | %.1f | %.1f | %.1f |\n", q.name, q.q.Count, q.q.P50, q.q.P90, q.q.P99, q.q.P999, q.q.Max)
		}
		if l.Bare != nil {
			q := l.Bare.ToPoll
			fmt.Fprintf(&b, "| baseline: bare consumer of partition %d, append → poll | %d | %.1f | %.1f | %.1f | %.1f | %.1f |\n",
				l.Bare.Partition, q.Count, q.P50, q.P90, q.P99, q.P999, q.Max)
			weir, both := slowSeconds(l, slowSecondMS)
			fmt.Fprintf(&b, "\nSeconds with a sample slower than %.0f ms: %d for weir; in %d of them the bare consumer, in the same run, was that slow too "+
				"(then the delay was upstream of weir: producer, broker or the host).\n", slowSecondMS, weir, both)
		}
		fmt.Fprintf(&b, "\nWindow end → sink is mostly waiting by design: a window closes when the watermark (newest event time − the %.0f ms allowed lateness) passes its end; windows flushed at shutdown are not counted.\n", l.AllowedLatenessMS)
	}
	if runs := r.runsOf("live-messy"); len(runs) > 0 && runs[0].Messy != nil {
		messyMarkdown(&b, r, runs[0])
	}
	return b.String()
}

// messyMarkdown renders the live-messy run: produced against counted, by reason.
func messyMarkdown(b *strings.Builder, r *report, run result) {
	m := run.Messy
	pl, p, c := m.Plan, m.Produced, m.Counted
	fmt.Fprintf(b, "\n**live-messy**: %d bursts of %s records stamped with the producer's clock, %v of quiet between them "+
		"(the worker's idle timeout: %v), %v windows, %v allowed lateness; %.1f%% of the records out of order by up to %v, "+
		"%.1f%% undecodable, %.1f%% late.\n\n", pl.Bursts, si(float64(pl.PerBurst)), pl.Quiet, messyIdleTimeout, pl.Window,
		pl.Lateness, 100*pl.OutOfOrder, pl.OutOfOrderBy, 100*pl.Undecodable, 100*pl.Late)
	b.WriteString("| records | produced | counted |\n|---|---:|---:|\n")
	fmt.Fprintf(b, "| on time, in the window their stamp says | %d | %d |\n", p.InOrder+p.OutOfOrder, c.InOrder+c.OutOfOrder)
	fmt.Fprintf(b, "| (of which out of order) | %d | |\n", p.OutOfOrder)
	fmt.Fprintf(b, "| undecodable: dead letters, reason decode | %d | %d |\n", p.Undecodable, c.Undecodable)
	fmt.Fprintf(b, "| late: dead letters, reason late | %d | %d |\n", p.Late, c.Late)
	exact := 0
	for w, n := range p.Windows {
		if c.Windows[w] == n {
			exact++
		}
	}
	fmt.Fprintf(b, "| windows counted exactly | %d | %d |\n", len(p.Windows), exact)
	if len(m.Mismatches) == 0 {
		b.WriteString("\nEvery count agrees.")
	} else {
		fmt.Fprintf(b, "\n**Mismatches**: %s.", strings.Join(m.Mismatches, "; "))
	}
	fmt.Fprintf(b, " Rate: %s records per CPU-second", si(run.RecordsPerCPUSec))
	vsStd, withStd := r.Ratios["live-messy/standard"]
	if q, ok := r.Ratios["live-messy/live-clean"]; ok {
		fmt.Fprintf(b, " (%.2f× live-clean's, the same traffic without the mess", q.CPU)
		if withStd && vsStd.CPU > 0 {
			fmt.Fprintf(b, "; %.2f× standard's", vsStd.CPU)
		}
		b.WriteString(")")
	}
	if m.BusySeconds > 0 {
		fmt.Fprintf(b, "; %s records/s over the %.1f s in which the worker had records to process", si(float64(run.Records)/m.BusySeconds), m.BusySeconds)
		if withStd && vsStd.Wall > 0 {
			fmt.Fprintf(b, " (%.2f× standard's drain, which has the machine to itself: here the producer and the broker take their share)", vsStd.Wall)
		}
	}
	b.WriteString(".\n")
}

// ratioText formats a ratio, "–" for one not measured.
func ratioText(v float64) string {
	if v == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", v)
}

func ratiosText(v []float64) string {
	per := make([]string, len(v))
	for i, x := range v {
		per[i] = fmt.Sprintf("%.2f", x)
	}
	return strings.Join(per, " ")
}

// si formats a count with a k/M suffix.
func si(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2f M", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0f k", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// mib1 is b in MiB to a tenth, zero included (a heap with nothing released shows 0.0).
func mib1(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func mib(b int64) string {
	if b <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%d MiB", b>>20)
}
