package scaling

import (
	"math"
)

// Inputs are the measurements of the whole fleet one sizing decision is made from. Rates are
// per second, averaged over the last Period; lag is in records. The fleet measures itself as
// one (Sizer builds these from every worker's load report and the source's own view): there
// is no per-task answer to combine, so a task owning only cold partitions, or running more
// partition runners than it has vCPUs, cannot distort the decision.
type Inputs struct {
	// ArrivalRate is the rate at which records are appended to the topic or stream.
	ArrivalRate float64 `json:"arrival_rate"`
	// ProcessedRate is the rate at which the fleet processed records.
	ProcessedRate float64 `json:"processed_rate"`
	// CPURate is the CPU seconds per second the fleet's processes spent doing it (everything
	// they spent: decoding, fetching, GC, sinks). 0 means not measured, which reads as every
	// task fully busy: the sizing never assumes spare capacity it has not measured.
	CPURate float64 `json:"cpu_rate"`
	// VCPUsPerTask is the CPU one task may use; 0 or less reads as 1.
	VCPUsPerTask float64 `json:"vcpus_per_task"`
	// LagSum is the backlog in records across all partitions: records waiting to be
	// processed (Kafka: end − committed, less what open windows hold; Kinesis: each shard's
	// MillisBehindLatest × its arrival rate).
	LagSum float64 `json:"lag_sum"`
	// LagMax is the largest single partition's backlog. Published only.
	LagMax float64 `json:"lag_max"`
	// LagSeconds is the largest time lag of any partition (Kinesis MillisBehindLatest; 0 when
	// not known). Sizing uses it only to tell a fleet that is stuck behind, having processed
	// nothing, from an idle one.
	LagSeconds float64 `json:"lag_seconds"`
	// UnknownLag counts the partitions reported with no reading of how far behind they are (a
	// Kinesis shard whose first GetRecords had not answered by the period's end): their
	// backlog counts 0 in LagSum and LagSeconds, which does not make them caught up, so the
	// fleet is not idle while there is one.
	UnknownLag int `json:"unknown_lag"`
	// HottestShare is the busiest partition's share of the demand (arrival ÷ target
	// utilisation + backlog ÷ catch-up window), in [1/Partitions, 1]; 0 means evenly spread.
	// A partition is never split between tasks, so the task that owns the busiest one (with
	// its share of the others) is the one that falls behind first.
	HottestShare float64 `json:"hottest_share"`
	// CurrentTasks is how many tasks run now (workers that reported load for the period). Zero
	// or less is read as 1.
	CurrentTasks int `json:"current_tasks"`
	// Partitions is the number of partitions (Kafka) or shards still to be read (Kinesis); 0
	// when not known, in which case only MaxTasks bounds the decision from above.
	Partitions int `json:"partitions"`
}

// Reason says which branch of the policy produced a Decision.
type Reason string

// The branches of Desired, in the order they are tried.
const (
	ReasonIdle         Reason = "idle"             // no arrivals and no lag: the lower bound
	ReasonRateUnknown  Reason = "rate-unknown"     // work exists (or may: lag unknown) but nothing was processed: hold
	ReasonInTolerance  Reason = "within-tolerance" // requirement within the band around current
	ReasonSteady       Reason = "steady"           // requirement rounds to the current count
	ReasonScaleOut     Reason = "scale-out"
	ReasonScaleIn      Reason = "scale-in"
	ReasonHoldBehind   Reason = "hold-behind" // scale-in refused while the backlog is large
	ReasonClampedMax   Reason = "clamped-max" // bounded by partitions or MaxTasks
	ReasonClampedMin   Reason = "clamped-min" // bounded by MinTasks
	ReasonUnconfigured Reason = "unconfigured"
)

// Decision is the result of one sizing.
type Decision struct {
	// DesiredTasks is the task count the fleet should run.
	DesiredTasks int `json:"desired_tasks"`
	// RequiredTasks is the unrounded, unbounded requirement (demand ÷ true rate per task).
	RequiredTasks float64 `json:"required_tasks"`
	// TrueRatePerTask is what one task could process if it were busy all the time:
	// records per CPU second × vCPUs per task (0 when nothing was processed).
	TrueRatePerTask float64 `json:"true_rate_per_task"`
	// Utilization is the fleet's CPU use: CPU rate ÷ (current tasks × vCPUs per task).
	Utilization float64 `json:"utilization"`
	// EffectiveTasks is how many tasks' worth of rate the current tasks deliver, given that
	// the one owning the busiest partitions must keep up (see Desired).
	EffectiveTasks float64 `json:"effective_tasks"`
	// BacklogSecondsPerTask is how long the current fleet needs to drain the backlog, ignoring
	// new arrivals: LagSum ÷ (EffectiveTasks × TrueRatePerTask). 0 when there is no backlog or
	// the rate is unknown.
	BacklogSecondsPerTask float64 `json:"backlog_seconds_per_task"`
	Reason                Reason  `json:"reason"`
}

// Desired sizes the fleet. It is pure: the same Inputs and Config always give the same
// Decision, and it never returns NaN or Inf however malformed the inputs are.
//
//	true rate        r = processed ÷ max(cpu, MinBusyFraction × current × vcpus) × vcpus
//	demand           d = arrival ÷ TargetUtilization + lag ÷ CatchUpWindow        (records/s)
//	required         n = d ÷ r                                                     (tasks)
//	busiest share s(N) = h + (k − 1)(1 − h) ÷ (P − 1), k = ⌈P/N⌉, h = HottestShare  (of d)
//	effective     e(N) = 1 ÷ s(N) with AlignToPartitions and P known, else N      (tasks' worth)
//	desired            = current           if n is within e(current) × (1 ± Tolerance)
//	                   = the least N with e(N) ≥ n                                  otherwise
//	                   = current           if that is below current and lag ÷ (e(current) × r) > ScaleDownMaxBacklog
//	                   clamped to [MinTasks, min(Partitions, MaxTasks)]
//
// The true rate is the Flink autoscaler's observed ÷ busy, measured on the whole fleet in CPU
// seconds: a task processing flat out spends vcpus CPU seconds per second, however many
// partition runners share them. The floor keeps a nearly idle fleet from claiming near-infinite
// capacity from timer noise; it applies to the fleet as a whole, so a cold task no longer
// inflates anything. e(N) is the rate the fleet delivers while the task holding the busiest
// partition (and ⌈P/N⌉ − 1 average others) keeps up: with even partitions (h = 1/P) it is
// P ÷ ⌈P/N⌉, Flink's key-group alignment; with one hot partition it stops growing once that
// partition has a task nearly to itself, and no task count can fix a partition hotter than a
// task (the count is then the partition bound).
//
// The catch-up term is what makes the fleet drain a backlog instead of only keeping up with
// arrivals; the tolerance band and the hold-behind rule are what keep it from oscillating.
func Desired(in Inputs, cfg Config) Decision {
	if cfg.TargetUtilization <= 0 || cfg.CatchUpWindow <= 0 || cfg.MinBusyFraction <= 0 {
		// A zero Config would divide by zero; refuse to size rather than invent numbers.
		return Decision{DesiredTasks: max(cfg.MinTasks, 1), Reason: ReasonUnconfigured}
	}
	arrival := nonNegative(in.ArrivalRate)
	processed := nonNegative(in.ProcessedRate)
	lag := nonNegative(in.LagSum)
	current := max(in.CurrentTasks, 1)
	vcpus := nonNegative(in.VCPUsPerTask)
	if vcpus == 0 {
		vcpus = 1
	}
	lower, upper := bounds(in.Partitions, cfg)

	sp := spread{hottest: nonNegative(in.HottestShare)}
	if cfg.AlignToPartitions {
		sp.partitions = in.Partitions
	}
	cur := sp.effective(current)

	d := Decision{EffectiveTasks: cur}
	full := float64(current) * vcpus // CPU seconds per second of a fleet busy flat out
	cpu := min(nonNegative(in.CPURate), full)
	d.Utilization = cpu / full
	if processed > 0 {
		if cpu == 0 || cpu == full {
			// Unmeasured, or as much as the tasks have or more (a vCPU figure too low):
			// a task processes at least what it did.
			cpu, d.Utilization = full, 1
		}
		d.TrueRatePerTask = processed / max(cpu, cfg.MinBusyFraction*full) * vcpus
		d.BacklogSecondsPerTask = lag / (cur * d.TrueRatePerTask)
	}

	switch {
	case arrival == 0 && lag == 0 && nonNegative(in.LagSeconds) == 0 && in.UnknownLag <= 0:
		d.DesiredTasks, d.Reason = lower, ReasonIdle
		return d
	case d.TrueRatePerTask == 0:
		// Records are waiting (or a partition's lag is unknown) but the fleet processed none:
		// a stall or a fleet that just started. Adding tasks does not fix a stall (the lag
		// status alarm reports it), and removing them would be a guess, so hold.
		d.DesiredTasks, d.Reason = current, ReasonRateUnknown
		return clamp(d, lower, upper)
	}

	demand := arrival/cfg.TargetUtilization + lag/cfg.CatchUpWindow.Seconds()
	d.RequiredTasks = demand / d.TrueRatePerTask
	switch n := sp.aligned(d.RequiredTasks); {
	case d.RequiredTasks >= cur*(1-cfg.Tolerance) && d.RequiredTasks <= cur*(1+cfg.Tolerance):
		d.DesiredTasks, d.Reason = current, ReasonInTolerance
	case n == current:
		d.DesiredTasks, d.Reason = current, ReasonSteady
	case n > current:
		d.DesiredTasks, d.Reason = n, ReasonScaleOut
	case d.BacklogSecondsPerTask > cfg.ScaleDownMaxBacklog.Seconds():
		d.DesiredTasks, d.Reason = current, ReasonHoldBehind
	default:
		d.DesiredTasks, d.Reason = n, ReasonScaleIn
	}
	return clamp(d, lower, upper)
}

// bounds returns the inclusive task range. Tasks beyond the partition count would own nothing,
// so the partition bound wins over MinTasks when they conflict.
func bounds(partitions int, cfg Config) (lower, upper int) {
	upper = math.MaxInt
	if partitions > 0 {
		upper = partitions
	}
	if cfg.MaxTasks > 0 {
		upper = min(upper, cfg.MaxTasks)
	}
	lower = min(max(cfg.MinTasks, 1), upper)
	return lower, upper
}

func clamp(d Decision, lower, upper int) Decision {
	switch {
	case d.DesiredTasks > upper:
		d.DesiredTasks, d.Reason = upper, ReasonClampedMax
	case d.DesiredTasks < lower:
		d.DesiredTasks, d.Reason = lower, ReasonClampedMin
	}
	return d
}

// ceilTasks rounds up, forgiving float error: 3.0000000001 tasks is 3, not 4.
func ceilTasks(n float64) int {
	const eps = 1e-9
	if n > float64(math.MaxInt32) {
		return math.MaxInt32
	}
	return int(math.Ceil(n - eps))
}

// nonNegative maps NaN, ±Inf and negatives to 0 so that one broken measurement cannot poison
// the decision with NaN.
func nonNegative(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0
	}
	return v
}
