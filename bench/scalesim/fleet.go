package main

import (
	"slices"
	"time"
)

// Fleet models the ECS service's tasks and how they process the stream.
//
// What it models, and why:
//   - Capacity is the ECS desired count; a task added to it runs only after StartDelay
//     (Fargate image pull, container start, joining the consumer group).
//   - Partitions are shared out by count, not by load, and stickily (Kafka's cooperative-sticky
//     assignor, the Kinesis lease balancer): at first partition p goes to task p mod N; when
//     the membership changes, a partition stays where it is unless its task left or holds more
//     than ⌈P/N⌉, and the freed ones go to the tasks with the fewest. With uneven partitions the
//     task holding the hot ones falls behind first.
//   - A task has VCPUs; every record costs CostPerRecord CPU seconds (decode, fetch, GC,
//     sinks), of which RunnerShare runs on the partition's own runner goroutine, which can use
//     one CPU at most; and the process spends Overhead CPU seconds per second with no records.
//     The task's runners share its vCPUs: each second it spreads them over its partitions'
//     waiting records (water-filling, each runner capped at one CPU).
//   - Every membership change pauses all processing for RebalancePause (the group rebalance;
//     cooperative-sticky keeps it short but not zero).
//   - A removed task stops at once: its drain on SIGTERM takes seconds, far below a minute.
type Fleet struct {
	Partitions     int
	VCPUs          float64
	CostPerRecord  float64
	RunnerShare    float64
	Overhead       float64
	StartDelay     time.Duration
	RebalancePause time.Duration

	capacity  int
	running   int
	since     []time.Duration // per running task: when it started consuming
	starting  []time.Duration // start-complete times, ascending
	pausedTil time.Duration
	owner     []int           // per partition: its task
	movedAt   []time.Duration // per partition: when its task took it
}

// NewFleet starts with n tasks already running.
func NewFleet(f Fleet, n int) *Fleet {
	f.capacity, f.running = n, n
	f.since = make([]time.Duration, n)
	f.owner = make([]int, f.Partitions)
	f.movedAt = make([]time.Duration, f.Partitions)
	for p := range f.owner {
		f.owner[p] = p % max(n, 1)
	}
	return &f
}

// rebalance moves as few partitions as it takes to spread them over the running tasks by count.
func (f *Fleet) rebalance(now time.Duration) {
	n := f.running
	if n == 0 {
		return
	}
	most := (f.Partitions + n - 1) / n
	counts := make([]int, n)
	var free []int
	for p, o := range f.owner {
		switch {
		case o >= n:
			free = append(free, p)
		case counts[o] == most:
			free = append(free, p)
		default:
			counts[o]++
		}
	}
	// A task may hold ⌈P/N⌉ only while others can still reach ⌊P/N⌋: give each freed partition
	// to the task with the fewest.
	for _, p := range free {
		least := 0
		for i := range counts {
			if counts[i] < counts[least] {
				least = i
			}
		}
		f.owner[p], f.movedAt[p] = least, now
		counts[least]++
	}
	// Tasks at ⌈P/N⌉ while some are below ⌊P/N⌋: move one over, until balanced.
	for {
		hi, lo := 0, 0
		for i := range counts {
			if counts[i] > counts[hi] {
				hi = i
			}
			if counts[i] < counts[lo] {
				lo = i
			}
		}
		if counts[hi]-counts[lo] <= 1 {
			return
		}
		for p := len(f.owner) - 1; p >= 0; p-- {
			if f.owner[p] == hi {
				f.owner[p], f.movedAt[p] = lo, now
				break
			}
		}
		counts[hi]--
		counts[lo]++
	}
}

// TaskRate is the records/s one task processes flat out (its vCPUs less the overhead).
func (f *Fleet) TaskRate() float64 { return (f.VCPUs - f.Overhead) / f.CostPerRecord }

// SetCapacity applies a new desired count at now.
func (f *Fleet) SetCapacity(now time.Duration, n int) {
	for ; f.capacity < n; f.capacity++ {
		f.starting = append(f.starting, now+f.StartDelay)
	}
	for ; f.capacity > n; f.capacity-- {
		if k := len(f.starting); k > 0 {
			// ECS stops tasks that are still provisioning first.
			f.starting = f.starting[:k-1]
			continue
		}
		f.running--
		f.since = f.since[:f.running]
		f.pausedTil = now + f.RebalancePause
		f.rebalance(now)
	}
}

// Advance moves the fleet to now: tasks whose start completed join (and trigger a rebalance).
func (f *Fleet) Advance(now time.Duration) {
	for len(f.starting) > 0 && f.starting[0] <= now {
		f.starting = f.starting[1:]
		f.running++
		f.since = append(f.since, now)
		f.pausedTil = now + f.RebalancePause
		f.rebalance(now)
	}
}

// Owner is the task that owns partition p.
func (f *Fleet) Owner(p int) int { return f.owner[p] }

// MovedAt is when partition p's task took it.
func (f *Fleet) MovedAt(p int) time.Duration { return f.movedAt[p] }

// Second is what one second of processing did.
type Second struct {
	// Per task: records processed and CPU seconds spent.
	Records, CPU []float64
	// Per task: Σ over its runners of the share of the second each was busy as the pipeline's
	// stage clock counts it (processing, or waiting for a CPU with records in hand), and how
	// many runners it has: what the per-task busy fraction averaged.
	RunnerBusy []float64
	Runners    []int
	// Per partition: records processed.
	Partition []float64
}

// Process runs one second at now: each running task spends its vCPUs on its partitions.
func (f *Fleet) Process(now time.Duration, s *Stream, out *Second) {
	n := f.running
	out.Records = resize(out.Records, n)
	out.CPU = resize(out.CPU, n)
	out.RunnerBusy = resize(out.RunnerBusy, n)
	out.Runners = slices.Grow(out.Runners[:0], n)[:n]
	clear(out.Runners)
	out.Partition = resize(out.Partition, len(s.Shares))
	if n == 0 {
		return
	}
	for i := range n {
		out.CPU[i] = f.Overhead
	}
	if now < f.pausedTil {
		return // rebalancing: nobody processes, the runners wait
	}
	runnerCap := 1 / (f.CostPerRecord * f.RunnerShare)
	owned := make([][]int, n)
	for p := range s.Shares {
		owned[f.Owner(p)] = append(owned[f.Owner(p)], p)
	}
	for i, ps := range owned {
		out.Runners[i] = len(ps)
		// Water-filling: the least demanding partitions are served in full first.
		slices.SortFunc(ps, func(a, b int) int {
			switch da, db := s.Lag(a), s.Lag(b); {
			case da < db:
				return -1
			case da > db:
				return 1
			}
			return a - b
		})
		budget := (f.VCPUs - f.Overhead) / f.CostPerRecord
		for k, p := range ps {
			want := s.Lag(p)
			give := min(want, runnerCap, budget/float64(len(ps)-k))
			got := s.Take(p, give)
			budget -= got
			out.Partition[p] = got
			out.Records[i] += got
			out.CPU[i] += got * f.CostPerRecord
			if want-got > epsilon {
				out.RunnerBusy[i]++ // records in hand all second: busy by the stage clock
			} else {
				out.RunnerBusy[i] += min(1, got*f.CostPerRecord*f.RunnerShare)
			}
		}
	}
}

func resize(v []float64, n int) []float64 {
	v = slices.Grow(v[:0], n)[:n]
	clear(v)
	return v
}

func (f *Fleet) Capacity() int { return f.capacity }
func (f *Fleet) Running() int  { return f.running }

// Since is when running task i started consuming.
func (f *Fleet) Since(i int) time.Duration { return f.since[i] }
