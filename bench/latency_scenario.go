package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

// latencyScenario measures latency at a fraction of capacity. Which capacity matters: the
// standard rate is a backlog drain, with the broker idle and no producer. In the latency
// scenario a producer and the broker run on the same two cores as the worker, and at the drain
// rate they take more than a core between them: offering half the drain rate offered more than
// the machine could carry, the producer fell behind, and the measured "latency" was the
// backlog growing. So the scenario first measures the live capacity — the producer offering the
// drain rate, open loop, for a short run, and the rate the worker actually processed — and then
// offers -load of that. The report gives both rates and the load as a fraction of each.
func latencyScenario(ctx context.Context, o options, rep *report, base spec, addrs []string,
	runOne func(spec, func() error) (*result, error), progress io.Writer) error {
	drain := rep.median("standard", func(r result) float64 { return r.RecordsPerSec })
	if drain <= 0 {
		return fmt.Errorf("latency: no standard rate to start from")
	}
	capFor := max(o.LatencyFor/4, 5*time.Second)
	live, _, _, err := liveRun(ctx, o, base, addrs, runOne, progress, "live-capacity", drain, capFor, latencySampleEvery, false)
	if err != nil {
		return err
	}
	capacity := live.RecordsPerSec
	rate := o.LoadFraction * capacity
	fmt.Fprintf(progress, "bench: latency: live capacity %.0f records/s (%.0f%% of the drain rate %.0f); offering %.0f%% of it\n",
		capacity, 100*capacity/drain, drain, 100*o.LoadFraction)
	r, st, bare, err := liveRun(ctx, o, base, addrs, runOne, progress, "latency", rate, o.LatencyFor, latencySampleEvery, true)
	if err != nil {
		return err
	}
	if r.Latency != nil {
		r.Latency.Bare = bare
		r.Latency.TargetRate = rate
		r.Latency.AchievedRate = float64(st.Records) / st.Seconds
		r.Latency.LiveCapacity = capacity
		r.Latency.DrainRate = drain
		rep.Runs[len(rep.Runs)-1] = *r
	}
	rep.ProducerMaxBehindMS = float64(st.MaxBehind) / float64(time.Millisecond)
	return nil
}

// latencySampleEvery: the probe times one record in this many, in both live runs alike.
const latencySampleEvery = 64

// liveRun runs the pipeline on a fresh live topic fed by the open-loop producer at rate for
// d, with the latency probe timing one record in sampleEvery, and, if withBare, the bare
// consumer's latency beside it (see bareLatency).
func liveRun(ctx context.Context, o options, base spec, addrs []string,
	runOne func(spec, func() error) (*result, error), progress io.Writer,
	name string, rate float64, d time.Duration, sampleEvery int64, withBare bool) (*result, openLoopStats, *bareLatencyResult, error) {
	n := int(rate * d.Seconds())
	topic := topicLive + "-" + name
	if err := createTopic(ctx, addrs, topic); err != nil {
		return nil, openLoopStats{}, nil, err
	}
	defer func() { _ = deleteTopic(ctx, addrs, topic) }()
	sp := base
	sp.Name, sp.Kind, sp.Topic, sp.Records = name, kindPipeline, topic, int64(n)
	// Broker time: the producer stamps each record with its intended send time. 5 s windows
	// so that a short run closes several.
	sp.TimeField, sp.Window, sp.Live, sp.SampleEvery = "", 5*time.Second, true, sampleEvery
	sp.Group = freshGroup(name)
	var (
		st   openLoopStats
		bare *bareLatencyResult
	)
	r, err := runOne(sp, func() error {
		fmt.Fprintf(progress, "bench: %s: offering %.0f records/s for %v\n", name, rate, d)
		producerDone := make(chan struct{})
		bareDone := make(chan error, 1)
		trimCtx, stopTrim := context.WithCancel(ctx)
		trimDone := make(chan struct{})
		go func() {
			defer close(trimDone)
			failed, err := trimBehind(trimCtx, addrs, topic, sp.Group, time.Second)
			if err != nil || failed > 0 {
				fmt.Fprintf(progress, "bench: %s: trimming the topic behind the worker: %d failed trims, %v\n", name, failed, err)
			}
		}()
		defer func() { stopTrim(); <-trimDone }()
		if withBare {
			// Same density per partition as the worker's probe has over all of them.
			every := max(sampleEvery/partitions, 1)
			go func() {
				b, err := measureBareLatency(ctx, addrs, topic, every, producerDone)
				if b != nil {
					bare = b.result()
				}
				bareDone <- err
			}()
		} else {
			bareDone <- nil
		}
		var err error
		st, err = produceOpenLoop(ctx, addrs, topic, dataset{Records: n, Format: "json", Seed: 3}, rate, progress)
		close(producerDone)
		if berr := <-bareDone; berr != nil {
			fmt.Fprintf(progress, "bench: %s: the bare consumer's latency baseline failed: %v\n", name, berr)
		}
		return err
	})
	return r, st, bare, err
}
