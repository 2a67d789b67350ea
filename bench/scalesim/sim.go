package main

import (
	"time"

	"github.com/weirstream/weir/scaling"
)

// Mode is the signal the target-tracking policy follows.
type Mode string

const (
	// ModeFleet is what deploy/cloudformation uses: the aggregator's DesiredTasks, sized from
	// every task's load report and the source's view (scaling.Measure), tracked through the
	// metric-math expression 100 × DesiredTasks ÷ DesiredTaskCount with target 100, under which
	// target tracking's proportional rule ⌈capacity × metric ÷ target⌉ lands exactly on
	// DesiredTasks.
	ModeFleet Mode = "fleet"
	// ModeTaskMax is the signal before issue 18: every task sized the fleet from its own
	// observed rate and runner-averaged busy fraction, and the policy took the Maximum.
	ModeTaskMax Mode = "task-max"
	// ModeBacklog tracks the fleet's BacklogSecondsPerTask directly (target BacklogTarget),
	// the textbook queue pattern. Simulated for comparison: a stream that is caught up has
	// zero backlog whatever its arrival rate, so this mode scales in to the minimum and
	// oscillates.
	ModeBacklog Mode = "backlog"
)

// Layout is the stream the fleet reads: its source and how the load lies over partitions.
type Layout struct {
	Name   string
	Source Source
	Shares []float64
}

// Layouts are the streams the README's numbers come from: 32 Kafka partitions evenly loaded,
// the same with Zipf-distributed load (exponent 0.5: the hottest partition carries 3.3× the
// mean), and a Kinesis stream of 32 shards with the same skew.
func Layouts() []Layout {
	zipf := Zipf(32, 0.5, 7)
	return []Layout{
		{Name: "kafka-even", Source: Kafka, Shares: Even(32)},
		{Name: "kafka-zipf", Source: Kafka, Shares: zipf},
		{Name: "kinesis-zipf", Source: Kinesis, Shares: zipf},
	}
}

// Scenario is one simulated run.
type Scenario struct {
	Profile Profile
	Layout  Layout
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

// DefaultScenario is the fleet the README's numbers come from: tasks of 2 vCPUs, 1 ms of CPU
// per record (half of it on the partition's runner), 0.02 CPU s/s of overhead, so 1990
// records/s per task flat out; 90 s Fargate start, 10 s rebalance pause; ECS target-tracking
// alarms (3 × 1 min out, 15 × 1 min in at 90 %), 120 s scale-out and 300 s scale-in cooldowns,
// as deploy/cloudformation configures them.
func DefaultScenario(p Profile, l Layout) Scenario {
	cfg := scaling.DefaultConfig()
	return Scenario{
		Profile: p,
		Layout:  l,
		Mode:    ModeFleet,
		Scaling: cfg,
		Fleet: Fleet{Partitions: len(l.Shares), VCPUs: 2, CostPerRecord: 0.001, RunnerShare: 0.5, Overhead: 0.02,
			StartDelay: 90 * time.Second, RebalancePause: 10 * time.Second},
		Policy: TargetTracking{
			Target: 100, HighPoints: 3, LowPoints: 15, LowRatio: 0.9,
			ScaleOutCooldown: 120 * time.Second, ScaleInCooldown: 300 * time.Second,
			Min: cfg.MinTasks, Max: len(l.Shares),
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
	Capacity float64 // records/s the running fleet processed, or could have
	Lag      float64 // records
	Tasks    int     // ECS desired count
	Running  int
	Desired  int // the last DesiredTasks the policy saw
}

// Action is one change of the ECS desired count.
type Action struct {
	T        time.Duration
	From, To int
}

// Run simulates s in one-second steps. Processing is fluid. Once a minute the signal of the
// scenario's mode is computed from what the minute measured, published, and the policy
// evaluates its alarms.
func Run(s Scenario) Result {
	const step = time.Second
	cfg := s.Scaling
	fl := s.Fleet
	// Start at the size the fleet signal asks for at the first minute's rate.
	first := scaling.Desired(scaling.Inputs{ArrivalRate: s.Profile.Rate(0), ProcessedRate: fl.TaskRate(),
		CPURate: fl.VCPUs, VCPUsPerTask: fl.VCPUs, Partitions: fl.Partitions}, cfg)
	fleet := NewFleet(fl, first.DesiredTasks)
	stream := NewStream(s.Layout.Source, s.Layout.Shares)
	policy := s.Policy
	sampleEvery := max(s.Profile.Duration/720, step).Truncate(step)

	var (
		desired = first.DesiredTasks
		tr      tracker
		actions []Action
		samples []Sample
		sec     Second
		m       minute
		before  []scaling.PartitionOffsets
	)
	tr.init(s, fleet.TaskRate())
	m.reset(0, stream)
	for t := time.Duration(0); t < s.Profile.Duration; t += step {
		fleet.Advance(t)
		a := s.Profile.Rate(t)
		stream.Arrive(t, a)
		fleet.Process(t, stream, &sec)
		m.add(t, fleet, a, &sec)
		lag := stream.TotalLag()
		tr.second(t, a, lag, fleet.Capacity())

		if t%sampleEvery == 0 {
			capacity := 0.0
			for _, r := range sec.Records {
				capacity += r
			}
			samples = append(samples, Sample{T: t, Arrival: a, Capacity: capacity, Lag: lag,
				Tasks: fleet.Capacity(), Running: fleet.Running(), Desired: desired})
		}
		if (t+step)%time.Minute != 0 {
			continue
		}
		now := t + step
		var d scaling.Decision
		switch s.Mode {
		case ModeTaskMax:
			d = taskMaxSignal(&m, fleet, stream, cfg)
		default:
			_, d, before = fleetSignal(&m, fleet, stream, now, before, cfg)
		}
		desired = d.DesiredTasks
		if s.Mode == ModeBacklog {
			policy.Observe(d.BacklogSecondsPerTask)
		} else {
			policy.Observe(100 * float64(d.DesiredTasks) / float64(fleet.Capacity()))
		}
		if n := policy.Evaluate(t, fleet.Capacity()); n != fleet.Capacity() {
			actions = append(actions, Action{T: t, From: fleet.Capacity(), To: n})
			fleet.SetCapacity(t, n)
		}
		m.reset(now, stream)
	}
	return tr.result(s, actions, samples)
}
