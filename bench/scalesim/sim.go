package main

import (
	"time"

	"github.com/weirstream/weir/scaling"
)

// Mode is the metric the target-tracking policy follows.
type Mode string

const (
	// ModeDesired is what deploy/cloudformation uses: the metric-math expression
	// 100 × DesiredTasks ÷ DesiredTaskCount with target 100, under which target tracking's
	// proportional rule ⌈capacity × metric ÷ target⌉ lands exactly on DesiredTasks, so the
	// worker's policy (tolerance band, hold while behind, partition clamp) is the policy.
	ModeDesired Mode = "desired"
	// ModeBacklog tracks BacklogSecondsPerTask directly (target BacklogTarget), the textbook
	// queue pattern. Simulated for comparison: a stream that is caught up has zero backlog
	// whatever its arrival rate, so this mode scales in to the minimum and oscillates.
	ModeBacklog Mode = "backlog"
)

// Scenario is one simulated run.
type Scenario struct {
	Profile Profile
	Mode    Mode
	Scaling scaling.Config
	Fleet   Fleet
	Policy  TargetTracking
	// LagTarget is "caught up": lag at most this many seconds of arrivals. Default 30s, the
	// scaling policy's ScaleDownMaxBacklog.
	LagTarget time.Duration
	// BacklogTarget is the target value in ModeBacklog.
	BacklogTarget float64
	// OscillationWindow: a scale-out this soon after a scale-in means the scale-in was wrong.
	OscillationWindow time.Duration
}

// DefaultScenario is the fleet the README's numbers come from: 32 partitions, tasks of
// 1000 records/s, 90 s Fargate start, 10 s rebalance pause, ECS target-tracking alarms
// (3 × 1 min out, 15 × 1 min in at 90 %), 120 s scale-out and 300 s scale-in cooldowns, as
// deploy/cloudformation configures them.
func DefaultScenario(p Profile) Scenario {
	cfg := scaling.DefaultConfig()
	return Scenario{
		Profile: p,
		Mode:    ModeDesired,
		Scaling: cfg,
		Fleet:   Fleet{Partitions: 32, TaskRate: 1000, StartDelay: 90 * time.Second, RebalancePause: 10 * time.Second},
		Policy: TargetTracking{
			Target: 100, HighPoints: 3, LowPoints: 15, LowRatio: 0.9,
			ScaleOutCooldown: 120 * time.Second, ScaleInCooldown: 300 * time.Second,
			Min: cfg.MinTasks, Max: 32,
		},
		LagTarget:         30 * time.Second,
		BacklogTarget:     60,
		OscillationWindow: 30 * time.Minute,
	}
}

// Sample is one point of the plotted series.
type Sample struct {
	T        time.Duration
	Arrival  float64 // records/s
	Capacity float64 // records/s the running fleet can process
	Lag      float64 // records
	Tasks    int     // ECS desired count
	Running  int
	Desired  int // the worker's last DesiredTasks
}

// Action is one change of the ECS desired count.
type Action struct {
	T        time.Duration
	From, To int
}

// Run simulates s in one-second steps. Processing is fluid: each second the fleet processes
// min(lag, rate) records. Once a minute the worker evaluates scaling.Desired on what it
// measured during the minute, publishes the metric, and the policy evaluates its alarms.
func Run(s Scenario) Result {
	const step = time.Second
	cfg := s.Scaling
	first := scaling.Desired(scaling.Inputs{
		ArrivalRate: s.Profile.Rate(0), ObservedRate: s.Fleet.TaskRate, BusyFraction: 1, Partitions: s.Fleet.Partitions,
	}, cfg)
	fleet := NewFleet(s.Fleet, first.DesiredTasks)
	policy := s.Policy
	sampleEvery := max(s.Profile.Duration/720, step).Truncate(step)

	var (
		lag, arrived, processed, offered float64
		desired                          = first.DesiredTasks
		tr                               tracker
		actions                          []Action
		samples                          []Sample
	)
	tr.init(s)
	for t := time.Duration(0); t < s.Profile.Duration; t += step {
		fleet.Advance(t)
		a := s.Profile.Rate(t)
		rate := fleet.Rate(t)
		lag += a
		done := min(lag, rate)
		lag -= done
		arrived += a
		processed += done
		offered += float64(fleet.Running()) * s.Fleet.TaskRate
		tr.second(t, a, lag, fleet.Capacity())

		if t%sampleEvery == 0 {
			samples = append(samples, Sample{T: t, Arrival: a, Capacity: rate, Lag: lag,
				Tasks: fleet.Capacity(), Running: fleet.Running(), Desired: desired})
		}
		if (t+step)%time.Minute != 0 {
			continue
		}
		// End of a minute: what one worker measured, as the lead's operators will report it.
		running := max(fleet.Running(), 1)
		in := scaling.Inputs{
			ArrivalRate:  arrived / 60,
			ObservedRate: processed / 60 / float64(running),
			LagSum:       lag,
			LagMax:       lag / float64(s.Fleet.Partitions),
			CurrentTasks: fleet.Running(),
			Partitions:   s.Fleet.Partitions,
		}
		if offered > 0 {
			in.BusyFraction = processed / offered
		}
		d := scaling.Desired(in, cfg)
		desired = d.DesiredTasks
		switch s.Mode {
		case ModeBacklog:
			policy.Observe(d.BacklogSecondsPerTask)
		default:
			policy.Observe(100 * float64(d.DesiredTasks) / float64(fleet.Capacity()))
		}
		if n := policy.Evaluate(t, fleet.Capacity()); n != fleet.Capacity() {
			actions = append(actions, Action{T: t, From: fleet.Capacity(), To: n})
			fleet.SetCapacity(t, n)
		}
		arrived, processed, offered = 0, 0, 0
	}
	return tr.result(s, actions, samples)
}
