package main

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mustProfile(t *testing.T, name string) Profile {
	t.Helper()
	ps, err := profileByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return ps[0]
}

// long is 8 hours of the base load with the profiles' ±3 % per-minute noise.
func long() Profile {
	return Profile{Name: "long", Duration: 8 * time.Hour, Rate: noisy(9, func(time.Duration) float64 { return Base })}
}

// The acceptance: after a 2× burst, lag is back under target within the catch-up
// window, with no oscillation, on every stream.
func TestBurstRecoversWithinCatchUpWindow(t *testing.T) {
	for _, l := range Layouts() {
		t.Run(l.Name, func(t *testing.T) {
			s := DefaultScenario(mustProfile(t, "burst"), l)
			r := Run(s)
			if r.BurstRecoverySeconds == 0 {
				t.Fatalf("a 2× burst never pushed lag above target: the scenario tests nothing (%+v)", r)
			}
			if !r.RecoveredInCatchUp || r.BurstRecoverySeconds > s.Scaling.CatchUpWindow.Seconds() {
				t.Errorf("burst recovery %.0fs, longest stretch %.0fs; catch-up window %v",
					r.BurstRecoverySeconds, r.TimeToRecoverSeconds, s.Scaling.CatchUpWindow)
			}
			if r.Oscillations != 0 {
				t.Errorf("oscillations = %d, actions %+v", r.Oscillations, r.Actions)
			}
			if r.ScaleOuts == 0 || r.ScaleIns == 0 {
				t.Errorf("expected a scale-out for the burst and a scale-in after it: %+v", r.Actions)
			}
		})
	}
}

// Over a long steady run the fleet finds its size and stays there: after the first half hour
// the count never moves, nothing is undone, and lag stays under target. With runners sharing
// vCPUs (5 or more partitions on a task of 2) and with Zipf-loaded partitions, Kafka and
// Kinesis, under several placements of the hot partitions.
func TestLongRunSettlesInABand(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates 8 hours per stream")
	}
	layouts := Layouts()
	for seed := uint64(1); seed <= 4; seed++ {
		z := Zipf(32, 0.5, seed)
		layouts = append(layouts, Layout{Name: fmt.Sprint("kafka-zipf-", seed), Source: Kafka, Shares: z},
			Layout{Name: fmt.Sprint("kinesis-zipf-", seed), Source: Kinesis, Shares: z})
	}
	for _, l := range layouts {
		t.Run(l.Name, func(t *testing.T) {
			r := Run(DefaultScenario(long(), l))
			if r.Oscillations != 0 || r.SettledMax != r.SettledMin || r.TimeToRecoverSeconds > 0 {
				t.Errorf("after 30 min: %d–%d tasks, %d oscillations, lag above target for %.0fs; actions %+v",
					r.SettledMin, r.SettledMax, r.Oscillations, r.TimeToRecoverSeconds, r.Actions)
			}
			if r.ScaleIns > 0 && r.ScaleOuts > 0 {
				t.Errorf("both scale-ins and scale-outs on a steady load: %+v", r.Actions)
			}
		})
	}
}

// The "before": every task sized the fleet on its own, and the policy took the Maximum. On
// Kafka, runner-averaged busy fractions overstate a task's capacity by up to its partitions
// per vCPU, so the fleet shrinks until a task saturates, then jumps out, and repeats; on
// Kinesis a task saw neither arrivals nor record lag, so the fleet sits at its minimum while
// the stream runs away. The simulator must show both, or it is not measuring what changed.
func TestTaskMaximumOscillatesOrStarves(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates 8 hours per stream")
	}
	for _, l := range Layouts() {
		t.Run(l.Name, func(t *testing.T) {
			s := DefaultScenario(long(), l)
			s.Mode = ModeTaskMax
			r := Run(s)
			switch l.Source {
			case Kafka:
				if r.Oscillations < 3 {
					t.Errorf("per-task Maximum oscillated %d times over 8 h: %+v", r.Oscillations, r.Actions)
				}
			case Kinesis:
				if r.ScaleOuts != 0 || r.FinalLagSeconds < 3600 {
					t.Errorf("per-task Maximum on Kinesis: %d scale-outs, %.0fs behind at the end", r.ScaleOuts, r.FinalLagSeconds)
				}
			}
		})
	}
}

func TestSteadyLoadSettles(t *testing.T) {
	for _, l := range Layouts() {
		r := Run(DefaultScenario(mustProfile(t, "steady"), l))
		if r.Oscillations != 0 || r.SettledMin != r.SettledMax || r.ScaleIns != 0 {
			t.Errorf("%s: steady load (±3 %% noise): actions %+v", l.Name, r.Actions)
		}
		if l.Name == "kafka-even" && (len(r.Actions) != 0 || r.PeakLag != 0) {
			t.Errorf("%s: an evenly loaded steady stream scaled or lagged: actions %+v peak lag %v", l.Name, r.Actions, r.PeakLag)
		}
	}
}

func TestDailyProfileDoesNotOscillate(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates 24 hours per stream")
	}
	for _, l := range Layouts() {
		r := Run(DefaultScenario(mustProfile(t, "daily"), l))
		if r.Oscillations != 0 || !r.RecoveredInCatchUp {
			t.Errorf("%s daily: oscillations %d, longest lag stretch %.0fs", l.Name, r.Oscillations, r.TimeToRecoverSeconds)
		}
		if r.MinTasks >= r.MaxTasks {
			t.Errorf("%s: daily load did not move the fleet: %d–%d", l.Name, r.MinTasks, r.MaxTasks)
		}
	}
}

// Tracking raw backlog seconds is the textbook queue pattern; on a stream it scales in to the
// minimum whenever it is caught up. The simulator must show that, or it is not measuring.
func TestBacklogTrackingOscillatesOnSteadyLoad(t *testing.T) {
	s := DefaultScenario(mustProfile(t, "steady"), Layouts()[0])
	s.Mode = ModeBacklog
	if r := Run(s); r.Oscillations == 0 {
		t.Fatalf("backlog tracking did not oscillate: %+v", r.Actions)
	}
}

// A task's runners share its vCPUs: the least demanding partitions are served in full, the
// rest share what is left, and no runner uses more than one CPU.
func TestFleetRunnersShareVCPUs(t *testing.T) {
	f := NewFleet(Fleet{Partitions: 4, VCPUs: 2, CostPerRecord: 0.001, RunnerShare: 0.5}, 1)
	s := NewStream(Kafka, []float64{0.05, 0.15, 0.3, 0.5})
	s.Arrive(0, 10000) // 500, 1500, 3000, 5000 records waiting
	var sec Second
	f.Process(0, s, &sec)
	// 2000 records of budget: 500 in full, then 500 each for the other three.
	want := []float64{500, 500, 500, 500}
	for p, w := range want {
		if d := sec.Partition[p] - w; d > 1e-6 || d < -1e-6 {
			t.Errorf("partition %d processed %v, want %v", p, sec.Partition[p], w)
		}
	}
	if sec.Records[0] != 2000 || sec.CPU[0] != 2 || sec.Runners[0] != 4 {
		t.Errorf("task: %v records, %v CPU, %d runners", sec.Records[0], sec.CPU[0], sec.Runners[0])
	}
	// Three runners had records left all second: busy by the stage clock; the served one
	// spent half of its 0.5 CPU seconds on its own goroutine.
	if sec.RunnerBusy[0] != 3.25 {
		t.Errorf("runner busy %v, want 3.25", sec.RunnerBusy[0])
	}
	// One partition alone cannot use both vCPUs: its runner is capped at one CPU's share.
	f1 := NewFleet(Fleet{Partitions: 1, VCPUs: 2, CostPerRecord: 0.001, RunnerShare: 0.75}, 1)
	s1 := NewStream(Kafka, []float64{1})
	s1.Arrive(0, 5000)
	f1.Process(0, s1, &sec)
	if d := sec.Records[0] - 1000/0.75; d > 1e-6 || d < -1e-6 {
		t.Errorf("one runner processed %v, want %v", sec.Records[0], 1000/0.75)
	}
}

// Partitions move only as far as balance by count needs, and a task start pauses everyone.
func TestFleetStickyRebalance(t *testing.T) {
	f := NewFleet(Fleet{Partitions: 8, VCPUs: 1, CostPerRecord: 0.001, RunnerShare: 1, StartDelay: time.Minute, RebalancePause: 10 * time.Second}, 2)
	before := append([]int(nil), f.owner...)
	f.SetCapacity(0, 3)
	f.Advance(59 * time.Second)
	if f.Running() != 2 {
		t.Fatalf("running %d before the start delay", f.Running())
	}
	f.Advance(time.Minute)
	counts := map[int]int{}
	moved := 0
	for p, o := range f.owner {
		counts[o]++
		if o != before[p] {
			moved++
			if f.MovedAt(p) != time.Minute {
				t.Errorf("partition %d moved at %v", p, f.MovedAt(p))
			}
		}
	}
	if counts[0] > 3 || counts[1] > 3 || counts[2] < 2 || moved != counts[2] {
		t.Errorf("after adding a third task: counts %v, %d moved (only the new task's should have)", counts, moved)
	}
	var sec Second
	s := NewStream(Kafka, Even(8))
	s.Arrive(time.Minute, 100)
	f.Process(time.Minute+5*time.Second, s, &sec)
	if sec.Records[0]+sec.Records[1]+sec.Records[2] != 0 {
		t.Error("processed during the rebalance pause")
	}
	f.SetCapacity(2*time.Minute, 1)
	for p, o := range f.owner {
		if o != 0 {
			t.Errorf("partition %d on task %d of 1", p, o)
		}
	}
}

// A reader's time lag is the age of its oldest unread record.
func TestStreamBehind(t *testing.T) {
	s := NewStream(Kinesis, []float64{1})
	for i := range 10 {
		s.Arrive(time.Duration(i)*time.Second, 100)
	}
	if got := s.Behind(0, 10*time.Second); got != 10*time.Second {
		t.Errorf("nothing read: %v behind, want 10s", got)
	}
	s.Take(0, 450)
	if got := s.Behind(0, 10*time.Second); got != 6*time.Second || s.Lag(0) != 550 {
		t.Errorf("4.5 s read: %v behind with %v left, want 6s and 550", got, s.Lag(0))
	}
	s.Take(0, 1000)
	if got := s.Behind(0, 10*time.Second); got != 0 || s.Lag(0) != 0 {
		t.Errorf("all read: %v behind, %v left", got, s.Lag(0))
	}
}

func TestTargetTrackingCooldownDoesNotReapplyStaleDatapoint(t *testing.T) {
	p := TargetTracking{Target: 100, HighPoints: 3, LowPoints: 15, LowRatio: 0.9,
		ScaleOutCooldown: 2 * time.Minute, ScaleInCooldown: 5 * time.Minute, Min: 1, Max: 100}
	for _, v := range []float64{200, 200, 200, 200} {
		p.Observe(v)
	}
	if n := p.Evaluate(4*time.Minute, 10); n != 20 {
		t.Fatalf("first scale-out to %d, want 20", n)
	}
	p.Observe(100) // computed after the scale-out
	// Visible now: the 200 % from before the scale-out. Applied to the base of 10, not to 20.
	if n := p.Evaluate(5*time.Minute, 20); n != 20 {
		t.Fatalf("stale datapoint re-applied: %d", n)
	}
	p.Observe(100)
	for i := 0; i < 16; i++ {
		p.Observe(50)
	}
	if n := p.Evaluate(30*time.Minute, 20); n != 10 {
		t.Fatalf("after 15 low datapoints: %d, want 10", n)
	}
	p.Observe(50)
	if n := p.Evaluate(31*time.Minute, 10); n != 10 {
		t.Fatalf("scale-in cooldown ignored: %d", n)
	}
}

func TestRunWritesReports(t *testing.T) {
	dir := t.TempDir()
	if err := run([]string{"-profile", "steady", "-stream", "kafka-zipf", "-mode", "all", "-out", dir}); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "results.md"))
	if err != nil {
		t.Fatal(err)
	}
	if rows := strings.Count(string(md), "\n| steady | kafka-zipf |"); rows != 3 {
		t.Errorf("results.md has %d steady rows, want 3:\n%s", rows, md)
	}
	for _, m := range []string{"fleet", "task-max", "backlog"} {
		f, err := os.Open(filepath.Join(dir, "steady-kafka-zipf-"+m+".svg"))
		if err != nil {
			t.Fatal(err)
		}
		polylines := 0
		dec := xml.NewDecoder(f)
		for {
			tok, err := dec.Token()
			if err != nil {
				break
			}
			if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
				polylines++
			}
		}
		f.Close()
		if polylines != 7 {
			t.Errorf("%s plot: %d series, want 7", m, polylines)
		}
	}
	for _, args := range [][]string{{"-profile", "nope"}, {"-stream", "nope"}, {"-mode", "nope"}} {
		if err := run(append(args, "-out", dir)); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
