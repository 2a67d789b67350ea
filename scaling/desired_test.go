package scaling

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestDesired(t *testing.T) {
	def := DefaultConfig() // u=0.7, W=600s, tolerance 0.1, hold-behind 30s, min 1
	with := func(f func(*Config)) Config { c := def; f(&c); return c }

	// A fleet whose tasks (1 vCPU each) processed 700 rec/s apiece while spending 0.7 CPU
	// seconds per second apiece: a true rate of 1000 rec/s per task.
	busyTask := func(in Inputs) Inputs {
		n := float64(max(in.CurrentTasks, 1))
		in.ProcessedRate, in.CPURate, in.VCPUsPerTask = 700*n, 0.7*n, 1
		return in
	}

	tests := []struct {
		name     string
		cfg      Config
		in       Inputs
		want     int
		reason   Reason
		required float64 // checked when non-zero
		trueRate float64 // checked when non-zero
		backlog  float64 // always checked
	}{
		{name: "idle goes to the minimum", cfg: def,
			in:   Inputs{CurrentTasks: 5, Partitions: 8},
			want: 1, reason: ReasonIdle},
		{name: "idle honours min tasks", cfg: with(func(c *Config) { c.MinTasks = 3 }),
			in:   Inputs{CurrentTasks: 5, Partitions: 8},
			want: 3, reason: ReasonIdle},
		{name: "idle with min above partitions stops at partitions", cfg: with(func(c *Config) { c.MinTasks = 4 }),
			in:   Inputs{CurrentTasks: 5, Partitions: 2},
			want: 2, reason: ReasonIdle},
		{name: "exactly at target holds", cfg: def,
			in:   busyTask(Inputs{ArrivalRate: 7000, CurrentTasks: 10}),
			want: 10, reason: ReasonInTolerance, required: 10, trueRate: 1000},
		{name: "upper edge of the band holds", cfg: def,
			in:   busyTask(Inputs{ArrivalRate: 7700, CurrentTasks: 10}),
			want: 10, reason: ReasonInTolerance, required: 11},
		{name: "just past the band scales out, rounded up", cfg: def,
			in:   busyTask(Inputs{ArrivalRate: 7770, CurrentTasks: 10}),
			want: 12, reason: ReasonScaleOut, required: 11.1},
		{name: "lag adds lag/W of demand", cfg: def,
			// 7000/0.7 + 1.2e6/600 = 12000 rec/s; backlog 1.2e6/(10×1000) = 120 s.
			in:   busyTask(Inputs{ArrivalRate: 7000, LagSum: 1.2e6, CurrentTasks: 10}),
			want: 12, reason: ReasonScaleOut, required: 12, backlog: 120},
		{name: "clamped to the partition count", cfg: def,
			in:   busyTask(Inputs{ArrivalRate: 70000, CurrentTasks: 10, Partitions: 32}),
			want: 32, reason: ReasonClampedMax, required: 100},
		{name: "clamped to max tasks below partitions", cfg: with(func(c *Config) { c.MaxTasks = 20 }),
			in:   busyTask(Inputs{ArrivalRate: 70000, CurrentTasks: 10, Partitions: 32}),
			want: 20, reason: ReasonClampedMax},
		{name: "unknown partition count does not bound", cfg: def,
			in:   busyTask(Inputs{ArrivalRate: 70000, CurrentTasks: 10}),
			want: 100, reason: ReasonScaleOut},
		{name: "current above partitions is brought down", cfg: def,
			in:   busyTask(Inputs{ArrivalRate: 7000, CurrentTasks: 10, Partitions: 6}),
			want: 6, reason: ReasonClampedMax},
		{name: "caught up and half loaded scales in", cfg: def,
			in:   busyTask(Inputs{ArrivalRate: 3500, CurrentTasks: 10}),
			want: 5, reason: ReasonScaleIn, required: 5},
		{name: "no scale-in while behind", cfg: def,
			// Needs only 6 tasks, but 6e5 records take 60 s > 30 s to drain at 10 × 1000.
			in:   busyTask(Inputs{ArrivalRate: 3500, LagSum: 6e5, CurrentTasks: 10}),
			want: 10, reason: ReasonHoldBehind, required: 6, backlog: 60},
		{name: "scale-in allowed with a small backlog", cfg: def,
			// 2e5 records = 20 s of backlog; 5000 + 333.3 rec/s → 5.33 → 6 tasks.
			in:   busyTask(Inputs{ArrivalRate: 3500, LagSum: 2e5, CurrentTasks: 10}),
			want: 6, reason: ReasonScaleIn, backlog: 20},
		{name: "scale-in stops at min tasks", cfg: with(func(c *Config) { c.MinTasks = 3 }),
			in:   busyTask(Inputs{ArrivalRate: 700, CurrentTasks: 5}),
			want: 3, reason: ReasonClampedMin, required: 1},
		{name: "rounds to current outside the band is steady", cfg: def,
			// 1.5 tasks is outside 2 × (1 ± 0.1) but still rounds up to 2.
			in:   busyTask(Inputs{ArrivalRate: 1050, CurrentTasks: 2}),
			want: 2, reason: ReasonSteady, required: 1.5},
		{name: "a nearly idle fleet's CPU is floored", cfg: def,
			// 40 rec/s for 0.0004 CPU s/s would claim 100 000 rec/s per task; the floor
			// (5 % of 4 tasks' CPU) makes it 40/0.2.
			in:   Inputs{ArrivalRate: 40, ProcessedRate: 40, CPURate: 0.0004, VCPUsPerTask: 1, CurrentTasks: 4, Partitions: 8},
			want: 1, reason: ReasonScaleIn, trueRate: 200},
		{name: "more CPU than the tasks have is read as fully busy", cfg: def,
			in:   Inputs{ArrivalRate: 7000, ProcessedRate: 10000, CPURate: 15, VCPUsPerTask: 1, CurrentTasks: 10},
			want: 10, reason: ReasonInTolerance, trueRate: 1000},
		{name: "unmeasured CPU is read as fully busy", cfg: def,
			in:   Inputs{ArrivalRate: 7000, ProcessedRate: 10000, VCPUsPerTask: 1, CurrentTasks: 10},
			want: 10, reason: ReasonInTolerance, trueRate: 1000},
		{name: "capacity is per vCPU second times the task's vCPUs", cfg: def,
			// 8 tasks of 2 vCPUs, 8 partitions each would have looked 25 % busy per runner;
			// in CPU they are 4000 rec/s for 4 CPU s/s: 1000 per CPU second, 2000 per task,
			// and 2.86 tasks are needed: 3 (22 partitions for the busiest: 2.9 tasks' worth).
			in:   Inputs{ArrivalRate: 4000, ProcessedRate: 4000, CPURate: 4, VCPUsPerTask: 2, CurrentTasks: 8, Partitions: 64},
			want: 3, reason: ReasonScaleIn, trueRate: 2000, required: 4000 / 0.7 / 2000},
		{name: "stuck behind with nothing processed is not idle", cfg: def,
			// Kinesis: the readers are an hour behind and processed nothing, so no rate and
			// no backlog in records can be derived; the time lag alone says: hold.
			in:   Inputs{LagSeconds: 3600, VCPUsPerTask: 1, CurrentTasks: 3, Partitions: 8},
			want: 3, reason: ReasonRateUnknown},
		{name: "a hot partition: the task holding it must keep up", cfg: def,
			// 32 partitions, one with 10 % of the demand. 8 tasks would do as 10 tasks'
			// worth evenly (8 tasks of 4 partitions: 0.1 + 3 × 0.9/31 = 18.7 % for the
			// busiest, 5.3 tasks' worth): 10 needed, so 16 tasks (2 partitions each: 12.9 %,
			// 7.75 tasks' worth) is not enough either; 32 is.
			in:   busyTask(Inputs{ArrivalRate: 7000, CurrentTasks: 10, Partitions: 32, HottestShare: 0.1}),
			want: 32, reason: ReasonScaleOut, required: 10, backlog: 0},
		{name: "a hot partition hotter than a task: the partition bound", cfg: def,
			// One partition with half the demand of 10 tasks: no count covers it.
			in:   busyTask(Inputs{ArrivalRate: 7000, CurrentTasks: 10, Partitions: 32, HottestShare: 0.5}),
			want: 32, reason: ReasonClampedMax, required: 10},
		{name: "a hot partition the current count already carries holds", cfg: def,
			// 16 tasks, 2 partitions each, hottest 5 %: 0.05 + 0.95/31 = 8.1 %, 12.4 tasks'
			// worth; 12 needed.
			in:   busyTask(Inputs{ArrivalRate: 8400, CurrentTasks: 16, Partitions: 32, HottestShare: 0.05}),
			want: 16, reason: ReasonInTolerance},
		{name: "an even share is the even spread", cfg: def,
			in:   busyTask(Inputs{ArrivalRate: 7000, CurrentTasks: 10, Partitions: 32, HottestShare: 1.0 / 32}),
			want: 11, reason: ReasonScaleOut, required: 10},
		{name: "nothing processed while work waits holds", cfg: def,
			in:   Inputs{ArrivalRate: 5000, LagSum: 1000, CurrentTasks: 3, Partitions: 8},
			want: 3, reason: ReasonRateUnknown},
		{name: "rate unknown still respects partitions", cfg: def,
			in:   Inputs{ArrivalRate: 5000, CurrentTasks: 10, Partitions: 4},
			want: 4, reason: ReasonClampedMax},
		{name: "zero current tasks counts this task", cfg: def,
			in:   busyTask(Inputs{ArrivalRate: 7000}),
			want: 10, reason: ReasonScaleOut, required: 10},
		{name: "broken measurements read as zero", cfg: def,
			in:   Inputs{ArrivalRate: math.NaN(), LagSum: -5, ProcessedRate: math.Inf(1), CPURate: math.NaN(), LagSeconds: -1, CurrentTasks: 3, Partitions: 8},
			want: 1, reason: ReasonIdle},
		{name: "float noise does not add a task", cfg: with(func(c *Config) { c.Tolerance, c.AlignToPartitions = 0, false }),
			// 2100/0.7/1000 is 3 up to rounding error.
			in:   Inputs{ArrivalRate: 2100, ProcessedRate: 2000, CPURate: 2, VCPUsPerTask: 1, CurrentTasks: 2, Partitions: 8},
			want: 3, reason: ReasonScaleOut},
		{name: "aligned: 10 tasks on 32 partitions work like 8, so 11",
			cfg:  def,
			in:   busyTask(Inputs{ArrivalRate: 7000, CurrentTasks: 10, Partitions: 32}),
			want: 11, reason: ReasonScaleOut, required: 10},
		{name: "aligned: 11 tasks on 32 partitions hold at the same load", cfg: def,
			in:   busyTask(Inputs{ArrivalRate: 7000, CurrentTasks: 11, Partitions: 32}),
			want: 11, reason: ReasonInTolerance},
		{name: "aligned: 20.4 tasks needed on 32 partitions means one partition each", cfg: def,
			// 20 tasks would leave 12 of them with 2 partitions: 16 tasks' worth of rate.
			in:   busyTask(Inputs{ArrivalRate: 14000, LagSum: 240000, CurrentTasks: 11, Partitions: 32}),
			want: 32, reason: ReasonScaleOut, required: 20.4, backlog: 240000 / (32.0 / 3 * 1000)},
		{name: "aligned: 12 tasks needed on 32 partitions is 3 per task, 11 tasks", cfg: def,
			in:   busyTask(Inputs{ArrivalRate: 7000, CurrentTasks: 16, Partitions: 32}),
			want: 11, reason: ReasonScaleIn},
		{name: "alignment off rounds plainly", cfg: with(func(c *Config) { c.AlignToPartitions = false }),
			in:   busyTask(Inputs{ArrivalRate: 14000, LagSum: 240000, CurrentTasks: 11, Partitions: 32}),
			want: 21, reason: ReasonScaleOut, backlog: 240000 / 11000.0},
		{name: "aligned backlog uses effective tasks", cfg: def,
			// 10 tasks on 32 partitions deliver 8 × 1000 rec/s: 4e5 records are 50 s.
			in:   busyTask(Inputs{ArrivalRate: 3500, LagSum: 4e5, CurrentTasks: 10, Partitions: 32}),
			want: 10, reason: ReasonHoldBehind, backlog: 50},
		{name: "zero config refuses to size", cfg: Config{},
			in:   busyTask(Inputs{ArrivalRate: 7000, CurrentTasks: 10}),
			want: 1, reason: ReasonUnconfigured},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Desired(tt.in, tt.cfg)
			if got.DesiredTasks != tt.want || got.Reason != tt.reason {
				t.Fatalf("Desired = %d (%s), want %d (%s); decision %+v", got.DesiredTasks, got.Reason, tt.want, tt.reason, got)
			}
			if tt.required != 0 && !near(got.RequiredTasks, tt.required) {
				t.Errorf("RequiredTasks = %v, want %v", got.RequiredTasks, tt.required)
			}
			if tt.trueRate != 0 && !near(got.TrueRatePerTask, tt.trueRate) {
				t.Errorf("TrueRatePerTask = %v, want %v", got.TrueRatePerTask, tt.trueRate)
			}
			if !near(got.BacklogSecondsPerTask, tt.backlog) {
				t.Errorf("BacklogSecondsPerTask = %v, want %v", got.BacklogSecondsPerTask, tt.backlog)
			}
		})
	}
}

// TestDesiredBoundsHold throws random, partly malformed inputs at Desired and checks the
// invariants every caller relies on: finite outputs, and a count inside the bounds.
func TestDesiredBoundsHold(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cfg := DefaultConfig()
	cfg.MinTasks = 2
	pick := func() float64 {
		switch rng.IntN(8) {
		case 0:
			return math.NaN()
		case 1:
			return -rng.Float64() * 100
		case 2:
			return 0
		case 3:
			return math.Inf(1)
		default:
			return rng.Float64() * 1e6
		}
	}
	for i := 0; i < 20000; i++ {
		in := Inputs{
			ArrivalRate: pick(), ProcessedRate: pick(), CPURate: pick() / 1e5, VCPUsPerTask: pick() / 1e5,
			LagSum: pick() * 100, LagSeconds: pick(), HottestShare: pick() / 1e6,
			CurrentTasks: rng.IntN(70) - 5, Partitions: rng.IntN(64),
		}
		d := Desired(in, cfg)
		for _, v := range []float64{d.RequiredTasks, d.TrueRatePerTask, d.BacklogSecondsPerTask, d.Utilization, d.EffectiveTasks} {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				t.Fatalf("non-finite or negative output %+v for %+v", d, in)
			}
		}
		lower, upper := cfg.MinTasks, math.MaxInt
		if in.Partitions > 0 {
			upper = in.Partitions
			lower = min(lower, upper)
		}
		if d.DesiredTasks < lower || d.DesiredTasks > upper {
			t.Fatalf("DesiredTasks %d outside [%d, %d] for %+v (%s)", d.DesiredTasks, lower, upper, in, d.Reason)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*max(1, math.Abs(b)) }
