package main

import (
	"time"

	"github.com/weirstream/weir/load"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/scaling"
)

// minute accumulates one minute of what the fleet did, for the signals computed at its end.
type minute struct {
	start      time.Duration
	arrived    float64
	records    []float64 // per task index
	cpu        []float64
	runnerBusy []float64
	runnerSecs []float64
	partition  []float64 // per partition: records processed by its task since the later of the minute's start and when it took it
	behindFrom []int64   // per partition: MillisBehindLatest when the minute began
}

func (m *minute) reset(now time.Duration, s *Stream) {
	m.start, m.arrived = now, 0
	m.records, m.cpu, m.runnerBusy, m.runnerSecs = m.records[:0], m.cpu[:0], m.runnerBusy[:0], m.runnerSecs[:0]
	m.partition = resize(m.partition, len(s.Shares))
	m.behindFrom = m.behindFrom[:0]
	for p := range s.Shares {
		m.behindFrom = append(m.behindFrom, s.Behind(p, now).Milliseconds())
	}
}

func (m *minute) add(now time.Duration, f *Fleet, arrived float64, sec *Second) {
	m.arrived += arrived
	for len(m.records) < len(sec.Records) {
		m.records, m.cpu = append(m.records, 0), append(m.cpu, 0)
		m.runnerBusy, m.runnerSecs = append(m.runnerBusy, 0), append(m.runnerSecs, 0)
	}
	for i := range sec.Records {
		m.records[i] += sec.Records[i]
		m.cpu[i] += sec.CPU[i]
		m.runnerBusy[i] += sec.RunnerBusy[i]
		m.runnerSecs[i] += float64(sec.Runners[i])
	}
	for p, n := range sec.Partition {
		if f.MovedAt(p) == now { // taken this second: the new task counts from here
			m.partition[p] = 0
		}
		m.partition[p] += n
	}
}

// view is the source's own view of the stream at now: Kafka end and committed offsets, Kinesis
// shards without offsets.
func view(s *Stream) []scaling.PartitionOffsets {
	out := make([]scaling.PartitionOffsets, len(s.Shares))
	for p := range out {
		out[p] = scaling.PartitionOffsets{Partition: partitionName(s, p), End: scaling.Unknown, Committed: scaling.Unknown}
		if s.Source == Kafka {
			out[p].End, out[p].Committed = int64(s.Ends[p]), int64(s.Done[p])
		}
	}
	return out
}

func partitionName(s *Stream, p int) pipeline.Partition {
	return pipeline.Partition{Stream: string(s.Source), ID: string(rune('A'+p/26)) + string(rune('a'+p%26))}
}

// fleetSignal is the aggregator's: every running task's load report of the minute and the
// source's view, through scaling.Measure and scaling.Desired, the code the worker runs.
func fleetSignal(m *minute, f *Fleet, s *Stream, now time.Duration, before []scaling.PartitionOffsets, cfg scaling.Config) (scaling.Inputs, scaling.Decision, []scaling.PartitionOffsets) {
	span := now - m.start
	reports := make([]*load.Report, 0, f.Running())
	for i := range f.Running() {
		secs := min(span, now-f.Since(i)).Seconds()
		if secs <= 0 {
			continue
		}
		r := &load.Report{V: load.Version, Worker: string(rune('a' + i%26)), Seconds: secs, VCPUs: f.VCPUs, CPUSeconds: -1}
		if i < len(m.records) {
			r.Records, r.CPUSeconds = int64(m.records[i]), m.cpu[i]
		}
		for p := range s.Shares {
			if f.Owner(p) != i {
				continue
			}
			// As the worker's load.Writer reports it: since it took the partition, and the
			// MillisBehindLatest it started from only if it owned the partition all along.
			owned := min(secs, (now - f.MovedAt(p)).Seconds())
			lp := load.Partition{Stream: string(s.Source), ID: partitionName(s, p).ID, Records: int64(m.partition[p]), Seconds: owned,
				MillisBehind: load.Unknown, MillisBehindStart: load.Unknown}
			if s.Source == Kinesis {
				lp.MillisBehind = s.Behind(p, now).Milliseconds()
				if f.MovedAt(p) <= m.start {
					lp.MillisBehindStart = m.behindFrom[p]
				}
			}
			r.Partitions = append(r.Partitions, lp)
		}
		reports = append(reports, r)
	}
	ev := scaling.Evidence{Period: span, Reports: reports, Partitions: view(s)}
	if before != nil {
		ev.Before, ev.Elapsed = before, span
	}
	in, _ := scaling.Measure(ev, cfg)
	if len(reports) == 0 {
		return in, scaling.Decision{DesiredTasks: f.Capacity()}, ev.Partitions
	}
	return in, scaling.Desired(in, cfg), ev.Partitions
}

// taskMaxSignal is what the fleet did before the aggregator sized it (the "before" of issue
// 18): every task evaluated Desired on its own observed rate and runner-averaged busy
// fraction, with the whole topic's arrival rate and lag where the source gives them (Kafka;
// a Kinesis task saw neither), and the policy read the Maximum of the tasks' answers.
func taskMaxSignal(m *minute, f *Fleet, s *Stream, cfg scaling.Config) scaling.Decision {
	span := 60.0
	var in scaling.Inputs
	if s.Source == Kafka {
		in.ArrivalRate = m.arrived / span
		for p := range s.Shares {
			in.LagSum += s.Lag(p)
			in.LagMax = max(in.LagMax, s.Lag(p))
		}
		in.Partitions, in.CurrentTasks = len(s.Shares), f.Running()
	}
	var best scaling.Decision
	for i := range min(f.Running(), len(m.records)) {
		busy := 1.0
		if m.runnerSecs[i] > 0 {
			busy = m.runnerBusy[i] / m.runnerSecs[i]
		}
		// The per-task view mapped onto the fleet inputs as the worker's Meter does: this
		// task's rate and busy fraction stand for every task's.
		copies := float64(max(in.CurrentTasks, 1))
		t := in
		t.ProcessedRate = m.records[i] / span * copies
		t.CPURate, t.VCPUsPerTask = max(busy, 1e-9)*copies, 1
		if d := scaling.Desired(t, cfg); d.DesiredTasks > best.DesiredTasks {
			best = d
		}
	}
	if best.DesiredTasks == 0 {
		best.DesiredTasks = f.Capacity()
	}
	return best
}
