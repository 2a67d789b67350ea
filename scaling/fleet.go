package scaling

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/weirstream/weir/load"
	"github.com/weirstream/weir/pipeline"
)

// PartitionOffsets is one partition as the source sees it. On Kafka, End is the offset the
// next appended record gets and Committed where the group resumes (its commit, or without one
// where it starts consuming); on Kinesis both are Unknown: a shard has no end offset, and its
// backlog comes from the readers' MillisBehindLatest in the load reports.
type PartitionOffsets struct {
	Partition      pipeline.Partition
	End, Committed int64
}

// Unknown marks an offset the source cannot tell.
const Unknown int64 = -1

// Evidence is what one fleet sizing is measured from: one period's load reports and the
// source's view at the end of the period and one period earlier.
type Evidence struct {
	// Period is the scaling period the reports cover.
	Period time.Duration
	// Reports are the period's load reports, one per worker.
	Reports []*load.Report
	// Partitions is the source's view now: every partition with records still to deliver.
	// nil when the source could not be asked; then the reports' partitions stand in.
	Partitions []PartitionOffsets
	// Before is the source's view Elapsed earlier (nil on the first sizing of a term): the
	// Kafka arrival rate is the growth of the end offsets between the two.
	Before  []PartitionOffsets
	Elapsed time.Duration
	// Hold is how long a record normally stays uncommitted because its window is still open
	// (window period + allowed lateness). On Kafka, lag is end − committed, so a steady
	// stream always shows about arrival × Hold records that are processed, only not yet in
	// a durable window: not backlog. Deducted per partition, never below zero. Kinesis
	// backlog is measured from the read position and holds none.
	Hold time.Duration
}

// Detail is what a sizing saw beyond its Inputs: for GET /v1/scaling, to tell why the fleet
// has the size it has.
type Detail struct {
	// PeriodStart is the start of the period whose load reports were read.
	PeriodStart time.Time `json:"period_start"`
	// Reports counts the load reports read; Invalid those refused (damaged, another version).
	Reports int `json:"reports"`
	Invalid int `json:"invalid,omitempty"`
	// ArrivalFrom says where the arrival rate came from: "end-offsets" (Kafka, the source's
	// own view), "processed" (Kafka on the first period of a term, before there are two views
	// to compare: the processed rate stands in), "millis-behind" (Kinesis: processed records
	// plus the change of the backlog).
	ArrivalFrom string `json:"arrival_from"`
	// Unreported are partitions the source lists that no load report covers (their reader
	// died, or they are not assigned yet); their backlog is unknown on Kinesis.
	Unreported      []string `json:"unreported,omitempty"`
	UnreportedCount int      `json:"unreported_count,omitempty"`
	// Hottest is the partition with the largest demand.
	Hottest string `json:"hottest,omitempty"`
	// Workers are the reporting workers' figures, by worker.
	Workers []WorkerLoad `json:"workers"`
}

// WorkerLoad is one worker's figures in a Detail.
type WorkerLoad struct {
	Worker string `json:"worker"`
	// Rate is the records per second the worker processed.
	Rate float64 `json:"rate"`
	// Utilization is CPU seconds per second ÷ vCPUs; -1 when its CPU was not measured.
	Utilization float64 `json:"utilization"`
	VCPUs       float64 `json:"vcpus"`
	Partitions  int     `json:"partitions"`
	Seconds     float64 `json:"seconds"`
}

// maxUnreported bounds the partition names a Detail lists (the count is always complete).
const maxUnreported = 20

// Measure turns one period's evidence into the Inputs of Desired. Pure: the same evidence
// always gives the same Inputs.
//
//	processed   Σ records ÷ period          cpu  Σ CPU seconds ÷ period (unmeasured: fully busy)
//	current     reports covering at least half the period (all reports if none does)
//	vcpus       mean of the reports'
//	Kafka       arrival = Σ Δend ÷ elapsed; backlog = Σ max(0, end − committed − arrival × hold)
//	Kinesis     per shard s: λ = records ÷ (seconds − ΔMillisBehind), the rate of the stretch
//	            of the shard the reader got through (timed by the reads, readThrough);
//	            backlog = λ × MillisBehind; arrival = Σ λ
//	hottest     max over partitions of (λ ÷ u + backlog ÷ W), over its sum
//
// A report covering more than the period (a late tick) counts for the period's share only.
func Measure(e Evidence, cfg Config) (Inputs, Detail) {
	var in Inputs
	var det Detail
	period := e.Period.Seconds()
	if period <= 0 || len(e.Reports) == 0 {
		det.Workers = []WorkerLoad{}
		return in, det
	}

	// The fleet's own figures: every report, weighted by how much of the period it covers.
	var records, cpu, vcpus float64
	long := 0
	for _, r := range e.Reports {
		share := min(1, period/r.Seconds)
		c := r.CPUSeconds
		if c < 0 {
			c = r.Seconds * r.VCPUs
		}
		records += float64(r.Records) * share
		cpu += c * share
		vcpus += r.VCPUs
		if r.Seconds >= period/2 {
			long++
		}
		util := -1.0
		if r.CPUSeconds >= 0 {
			util = r.CPUSeconds / r.Seconds / r.VCPUs
		}
		det.Workers = append(det.Workers, WorkerLoad{Worker: r.Worker, Rate: float64(r.Records) / r.Seconds,
			Utilization: util, VCPUs: r.VCPUs, Partitions: len(r.Partitions), Seconds: r.Seconds})
	}
	slices.SortFunc(det.Workers, func(a, b WorkerLoad) int { return cmp.Compare(a.Worker, b.Worker) })
	det.Reports = len(e.Reports)
	in.ProcessedRate, in.CPURate = records/period, cpu/period
	in.VCPUsPerTask = vcpus / float64(len(e.Reports))
	in.CurrentTasks = long
	if long == 0 {
		in.CurrentTasks = len(e.Reports)
	}

	shards := reported(e.Reports)
	var parts []partitionDemand
	if hasOffsets(e.Partitions) {
		parts = kafkaDemand(e, shards, &det)
	} else {
		parts = kinesisDemand(e, shards, &det)
	}
	in.Partitions = len(parts)

	var total, hottest float64
	for _, p := range parts {
		in.ArrivalRate += p.arrival
		in.LagSum += p.backlog
		in.LagMax = max(in.LagMax, p.backlog)
		in.LagSeconds = max(in.LagSeconds, p.behind)
		if p.unknown {
			in.UnknownLag++
		}
		d := p.arrival/cfg.TargetUtilization + p.backlog/cfg.CatchUpWindow.Seconds()
		total += d
		if d > hottest {
			hottest, det.Hottest = d, p.part.String()
		}
	}
	if total > 0 && !math.IsNaN(total) && !math.IsInf(total, 0) {
		in.HottestShare = hottest / total
	}
	return in, det
}

// partitionDemand is one partition's measured load.
type partitionDemand struct {
	part    pipeline.Partition
	arrival float64 // records/s
	backlog float64 // records
	behind  float64 // seconds (Kinesis)
	unknown bool    // reported without a reading of behind (Kinesis: not read yet)
}

// shardLoad is one partition's figures summed over the reports that list it (normally one: a
// partition that moved is listed only by the worker owning it when the period ended).
type shardLoad struct {
	records            int64
	seconds            float64
	behind, behindFrom int64
	// when behind and behindFrom were read, Unix ns; 0 unknown
	behindAt, behindFromAt int64
}

func reported(reports []*load.Report) map[pipeline.Partition]*shardLoad {
	out := make(map[pipeline.Partition]*shardLoad)
	for _, r := range reports {
		for _, p := range r.Partitions {
			key := pipeline.Partition{Stream: p.Stream, ID: p.ID}
			s, ok := out[key]
			if !ok {
				s = &shardLoad{behind: load.Unknown, behindFrom: load.Unknown}
				out[key] = s
			}
			s.records += p.Records
			if p.Seconds >= s.seconds { // two owners in one period: the longer one's view
				s.behind, s.behindFrom = p.MillisBehind, p.MillisBehindStart
				s.behindAt, s.behindFromAt = p.MillisBehindAt, p.MillisBehindStartAt
			}
			s.seconds += p.Seconds
		}
	}
	return out
}

func hasOffsets(ps []PartitionOffsets) bool {
	for _, p := range ps {
		if p.End >= 0 {
			return true
		}
	}
	return false
}

// kafkaDemand measures every partition from the source's offsets; without an earlier view,
// each partition's processed rate stands in for its arrival rate.
func kafkaDemand(e Evidence, shards map[pipeline.Partition]*shardLoad, det *Detail) []partitionDemand {
	before := make(map[pipeline.Partition]int64, len(e.Before))
	for _, p := range e.Before {
		before[p.Partition] = p.End
	}
	elapsed := e.Elapsed.Seconds()
	det.ArrivalFrom = "end-offsets"
	if len(before) == 0 || elapsed <= 0 {
		det.ArrivalFrom = "processed"
	}
	out := make([]partitionDemand, 0, len(e.Partitions))
	for _, p := range e.Partitions {
		d := partitionDemand{part: p.Partition}
		if det.ArrivalFrom == "processed" {
			if s, ok := shards[p.Partition]; ok && s.seconds > 0 {
				d.arrival = float64(s.records) / s.seconds
			}
		} else if prev, ok := before[p.Partition]; ok && p.End >= prev && prev >= 0 {
			d.arrival = float64(p.End-prev) / elapsed
		}
		if p.End >= 0 && p.Committed >= 0 {
			d.backlog = max(0, float64(p.End-p.Committed)-d.arrival*e.Hold.Seconds())
		}
		if _, ok := shards[p.Partition]; !ok {
			det.unreported(p.Partition)
		}
		out = append(out, d)
	}
	return out
}

// kinesisDemand measures every shard from its readers' load reports. Over the Seconds a reader
// owned a shard, its read position moved through Seconds − ΔMillisBehind of the stream's time
// (it fell behind by ΔMillisBehind), and the records it read were appended in that stretch: so
// the shard's rate λ = records ÷ (Seconds − ΔMillisBehind), and the MillisBehindLatest still
// to read hold λ × MillisBehindLatest records. Equivalently, arrivals = records processed + the
// change of the backlog. A shard taken during the period, whose reader's start is unknown,
// counts its records over the whole period. A reader that processed nothing gives no rate; the
// shard's time lag still counts (Desired then holds rather than calling the fleet idle).
func kinesisDemand(e Evidence, shards map[pipeline.Partition]*shardLoad, det *Detail) []partitionDemand {
	det.ArrivalFrom = "millis-behind"
	listed := e.Partitions
	if listed == nil { // the source could not be asked: the reported shards are all we know
		for p := range shards {
			listed = append(listed, PartitionOffsets{Partition: p, End: Unknown, Committed: Unknown})
		}
		slices.SortFunc(listed, func(a, b PartitionOffsets) int { return pipeline.ComparePartitions(a.Partition, b.Partition) })
	}
	out := make([]partitionDemand, 0, len(listed))
	timed := false
	for _, p := range listed {
		d := partitionDemand{part: p.Partition}
		s, ok := shards[p.Partition]
		if !ok {
			det.unreported(p.Partition)
			out = append(out, d)
			continue
		}
		if s.behind >= 0 {
			d.behind, timed = float64(s.behind)/1000, true
		} else {
			d.unknown = true // read by nobody yet: its backlog counts 0, not "caught up"
		}
		if s.records > 0 && s.seconds > 0 {
			through := s.seconds
			switch {
			case s.behind >= 0 && s.behindFrom >= 0:
				through = readThrough(s)
			case s.seconds < e.Period.Seconds():
				// Taken during the period: its reader began at the last checkpoint, an unknown
				// stretch behind, and read that stretch again first; over its own few seconds
				// the replay reads as a burst (a rebalance once showed 557 records/s on a
				// stream of 40). Spread over the whole period instead: for one period an
				// under-estimate (the previous owner's share is not counted), which the
				// policy's slow scale-in rides out, never a scale-out for nothing.
				through = e.Period.Seconds()
			}
			// A reader that got through almost none of the stream's time says little about
			// its rate: at most 100× what it processed.
			through = max(through, s.seconds/100)
			d.arrival = float64(s.records) / through
			d.backlog = d.arrival * d.behind
		}
		out = append(out, d)
	}
	if !timed {
		// No reader knew how far behind it was (a Kafka fleet whose source view failed):
		// the arrival rate is the processed rate, and the backlog unknown.
		det.ArrivalFrom = "processed"
	}
	return out
}

// readThrough is the stretch of stream time a shard's reader got through, scaled to the
// report's Seconds. Each MillisBehindLatest is as old as the read that gave it, and a reader
// held up (a full pipeline, a slow API) reads seconds before the report ends: between two reads
// span apart, the reader moved through span − ΔMillisBehind of stream time. Taking the reports'
// Seconds for span instead counts the readings' difference in age as stream time read or lost,
// which for a reader far behind makes the stretch tiny and the rate huge. The stretch is scaled
// by Seconds ÷ span, as the records are counted over Seconds: the reader's pace in stream time
// per second, times the report's Seconds. Without the reads' times (a report from an older
// build), or with no read between the two, span is Seconds.
func readThrough(s *shardLoad) float64 {
	delta := float64(s.behind-s.behindFrom) / 1000
	if s.behindAt <= 0 || s.behindFromAt <= 0 || s.behindAt <= s.behindFromAt {
		return s.seconds - delta
	}
	span := float64(s.behindAt-s.behindFromAt) / 1e9
	return (span - delta) * s.seconds / span
}

func (d *Detail) unreported(p pipeline.Partition) {
	d.UnreportedCount++
	if len(d.Unreported) < maxUnreported {
		d.Unreported = append(d.Unreported, p.String())
	}
}
