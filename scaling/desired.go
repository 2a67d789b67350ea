package scaling

import (
	"math"
)

// Inputs are the measurements one sizing decision is made from. Rates are per second and
// averaged over the last Period; lag is in records.
//
// Scope: ArrivalRate, LagSum, LagMax and Partitions describe the whole topic or stream (every
// partition of the consumer group, not only this task's), because the decision is the size of
// the whole fleet. ObservedRate and BusyFraction describe this task alone: they estimate what
// one task can do, which every task measures for itself.
type Inputs struct {
	// ArrivalRate is the rate at which records are appended to the topic/stream.
	ArrivalRate float64 `json:"arrival_rate"`
	// ObservedRate is the rate at which this task processed records.
	ObservedRate float64 `json:"observed_rate"`
	// BusyFraction is the share of wall time this task's processing was busy (not waiting for
	// records), in [0, 1]. Values above 1 are read as 1.
	BusyFraction float64 `json:"busy_fraction"`
	// LagSum is the total lag in records across all partitions.
	LagSum float64 `json:"lag_sum"`
	// LagMax is the largest single partition lag. Published only; sizing uses LagSum.
	LagMax float64 `json:"lag_max"`
	// CurrentTasks is how many tasks share the partitions now (group members / lease owners).
	// Zero or less is read as 1: the task computing this is itself running.
	CurrentTasks int `json:"current_tasks"`
	// Partitions is the number of partitions or open shards; 0 when not known yet, in which
	// case only MaxTasks bounds the decision from above.
	Partitions int `json:"partitions"`
}

// Reason says which branch of the policy produced a Decision.
type Reason string

// The branches of Desired, in the order they are tried.
const (
	ReasonIdle         Reason = "idle"             // no arrivals and no lag: the lower bound
	ReasonRateUnknown  Reason = "rate-unknown"     // work exists but nothing was processed: hold
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
	// observed rate ÷ busy fraction (0 when nothing was processed).
	TrueRatePerTask float64 `json:"true_rate_per_task"`
	// BacklogSecondsPerTask is how long the current fleet needs to drain the lag, ignoring new
	// arrivals: LagSum ÷ (effective current tasks × TrueRatePerTask). 0 when there is no lag or
	// the rate is unknown.
	BacklogSecondsPerTask float64 `json:"backlog_seconds_per_task"`
	Reason                Reason  `json:"reason"`
}

// Desired sizes the fleet. It is pure: the same Inputs and Config always give the same
// Decision, and it never returns NaN or Inf however malformed the inputs are.
//
//	true rate      r = observed ÷ max(busy, MinBusyFraction)
//	demand         d = arrival ÷ TargetUtilization + lag ÷ CatchUpWindow      (records/s)
//	required       n = d ÷ r                                                   (tasks)
//	effective   e(N) = P ÷ ⌈P/N⌉ with AlignToPartitions and P known, else N   (tasks' worth)
//	desired          = current           if n is within e(current) × (1 ± Tolerance)
//	                 = ⌈n⌉, or with alignment the least N with e(N) ≥ n   otherwise
//	                 = current           if that is below current and lag ÷ (e(current) × r) > ScaleDownMaxBacklog
//	                 clamped to [MinTasks, min(Partitions, MaxTasks)]
//
// The catch-up term is what makes the fleet drain a backlog instead of only keeping up with
// arrivals; the tolerance band and the hold-behind rule are what keep it from oscillating.
func Desired(in Inputs, cfg Config) Decision {
	if cfg.TargetUtilization <= 0 || cfg.CatchUpWindow <= 0 || cfg.MinBusyFraction <= 0 {
		// A zero Config would divide by zero; refuse to size rather than invent numbers.
		return Decision{DesiredTasks: max(cfg.MinTasks, 1), Reason: ReasonUnconfigured}
	}
	arrival := nonNegative(in.ArrivalRate)
	observed := nonNegative(in.ObservedRate)
	lag := nonNegative(in.LagSum)
	busy := min(nonNegative(in.BusyFraction), 1)
	current := max(in.CurrentTasks, 1)
	lower, upper := bounds(in.Partitions, cfg)

	partitions := in.Partitions
	if !cfg.AlignToPartitions {
		partitions = 0
	}
	cur := effective(current, partitions)

	var d Decision
	if observed > 0 {
		d.TrueRatePerTask = observed / max(busy, cfg.MinBusyFraction)
		d.BacklogSecondsPerTask = lag / (cur * d.TrueRatePerTask)
	}

	switch {
	case arrival == 0 && lag == 0:
		d.DesiredTasks, d.Reason = lower, ReasonIdle
		return d
	case d.TrueRatePerTask == 0:
		// Records are waiting but this task processed none: a stall or a task that just
		// started. Adding tasks does not fix a stall (the lag status alarm reports it), and
		// removing them would be a guess, so hold.
		d.DesiredTasks, d.Reason = current, ReasonRateUnknown
		return clamp(d, lower, upper)
	}

	demand := arrival/cfg.TargetUtilization + lag/cfg.CatchUpWindow.Seconds()
	d.RequiredTasks = demand / d.TrueRatePerTask
	switch n := aligned(d.RequiredTasks, partitions); {
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

// effective is how many tasks' worth of rate n tasks deliver on p evenly loaded partitions:
// the busiest owns ⌈p/n⌉ partitions and the others wait for nothing it does, but the fleet
// keeps up only while that busiest task does. p ≤ 0 means unknown or not aligning.
func effective(n, p int) float64 {
	if p <= 0 {
		return float64(n)
	}
	if n >= p {
		return float64(p)
	}
	return float64(p) / float64((p+n-1)/n)
}

// aligned is the least task count whose effective rate covers required tasks: ⌈required⌉
// without partitions, else ⌈p/k⌉ for the largest partitions-per-task k with p/k ≥ required.
func aligned(required float64, p int) int {
	n := ceilTasks(required)
	if p <= 0 || n >= p || required <= 0 {
		return n
	}
	k := max(int(math.Floor(float64(p)/required+1e-9)), 1)
	return (p + k - 1) / k
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
