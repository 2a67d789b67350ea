package worker

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"github.com/weirstream/weir/lag"
	"github.com/weirstream/weir/load"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/scaling"
	"github.com/weirstream/weir/sources/kafka"
)

// The fleet's scaling signal (issue 18, design §4). Every worker writes a load report each
// scaling period (what it processed and what its process spent) and publishes its own health
// counts; the aggregator, as a duty of its term, sizes the whole fleet from one period's
// reports and the source's own view, and publishes DesiredTasks: one series per service, never
// a per-task answer.

// fleetScaling is this worker's part of the signal.
type fleetScaling struct {
	writer *load.Writer
	fleet  *scaling.FleetPublisher // run by the aggregator, for the length of each term
	latest *scaling.Latest
	health *healthPoints
}

// buildScaling builds the load writer (counters read from the runtime, once it exists) and the
// aggregator's publisher, reading the reports back from store and the source's view.
func (a *Assembly) buildScaling(store partialStore, fleet []pipeline.Dimension) {
	cfg := a.cfg
	vcpus, from := load.VCPUs(a.task.CPULimit, "/sys/fs/cgroup")
	if a.hooks.VCPUs > 0 {
		vcpus, from = a.hooks.VCPUs, "hooks"
	}
	worker := a.workerID()
	a.log.Info("load reports", "worker", worker, "vcpus", vcpus, "vcpus_from", from, "period", cfg.Scaling.Period)
	a.scale.latest = &scaling.Latest{}
	a.scale.writer = &load.Writer{Worker: worker, Period: cfg.Scaling.Period, VCPUs: vcpus, Store: store,
		Counters: a.loadCounters, CPU: a.hooks.CPU, Logger: a.log, Metrics: load.NewMetrics(a.reg)}
	a.scale.latest.Local = a.scale.writer.Last
	a.scale.fleet = &scaling.FleetPublisher{Config: cfg.Scaling, Fleet: fleet, Latest: a.scale.latest,
		Metrics: scaling.NewMetrics(a.reg), Logger: a.log,
		Sizer: &scaling.Sizer{Config: cfg.Scaling, Loads: store, Source: sourceView{a}, Hold: cfg.Window.Period + cfg.Window.AllowedLateness}}
	if a.metrics != nil {
		a.scale.fleet.Emit = func(ctx context.Context, pts []pipeline.Point) error {
			return a.metrics.Write(ctx, &pipeline.Output{Points: pts})
		}
	}
}

// runScaling is the worker's part: its load reports and its health counts, each period.
func (a *Assembly) runScaling(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.scale.health.run(ctx)
	}()
	err := a.scale.writer.Run(ctx)
	<-done
	return err
}

// workerID names this worker in its load reports: the ECS task id, else the Kinesis lease
// owner name, else the host, the process and a random suffix (a restarted process is another
// worker).
func (a *Assembly) workerID() string {
	if a.task.TaskID != "" {
		return a.task.TaskID
	}
	if a.cfg.Source.Kind == "kinesis" && a.cfg.Source.Kinesis.WorkerID != "" {
		return a.cfg.Source.Kinesis.WorkerID
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "weir"
	}
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), strconv.FormatUint(rand.Uint64()%1e9, 36))
}

// behindReader is a source that knows how far behind each partition it reads is
// (*kinesis.Source: MillisBehindLatest of the shard's last GetRecords, and when it was
// answered). ok is false when it has no reading of p: p not read by this worker, or its first
// GetRecords not answered yet (a slow server, a lease just taken), which is not "caught up".
type behindReader interface {
	MillisBehind(p pipeline.Partition) (ms int64, at time.Time, ok bool)
}

// commitErrorCounter is a source that counts its failed commits (*kafka.Source: offset
// commits; *kinesis.Source: checkpoint writes), published as CommitErrors with the health
// counts.
type commitErrorCounter interface {
	CommitErrors() int64
}

// loadCounters are the worker's totals for its load report: the runtime's records, and per
// running partition its records since it was assigned and, on Kinesis, how far behind it is.
func (a *Assembly) loadCounters() load.Counters {
	c := load.Counters{Records: a.rt.Stats().Records}
	br, _ := a.src.(behindReader)
	a.rt.PartitionRecords(func(p pipeline.Partition, assigned time.Time, records int64) {
		c.Partitions = append(c.Partitions, partitionCounters(br, p, assigned, records))
	})
	return c
}

// partitionCounters are one running partition's totals; br is nil on a source that does not
// know how far behind its partitions are (Kafka).
func partitionCounters(br behindReader, p pipeline.Partition, assigned time.Time, records int64) load.PartitionCounters {
	pc := load.PartitionCounters{Partition: p, Since: assigned, Records: records, MillisBehind: load.Unknown}
	if br == nil {
		return pc
	}
	// A shard not read yet has no reading (ok false) and stays Unknown. Taken for 0 ms behind,
	// it became the start of the next report's stretch, and the first real reading, far
	// behind, read as a reader that fell that far behind within one period: a negative
	// stretch of stream read, and the shard's rate at the sizing's cap.
	if ms, at, ok := br.MillisBehind(p); ok {
		pc.MillisBehind, pc.MillisBehindAt = ms, at
	}
	return pc
}

// offsetLister is a source that can list every partition's end and committed offsets
// (*kafka.Source).
type offsetLister interface {
	Offsets(ctx context.Context) ([]kafka.PartitionOffsets, error)
}

// sourceView is the fleet sizing's view of the source (scaling.SourceView): on Kafka every
// partition's end and committed offsets, from the brokers; on Kinesis the shards still to be
// read, without offsets (their backlog comes from the load reports' MillisBehindLatest).
type sourceView struct{ a *Assembly }

func (v sourceView) Partitions(ctx context.Context) ([]scaling.PartitionOffsets, error) {
	if ol, ok := v.a.src.(offsetLister); ok {
		offs, err := ol.Offsets(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]scaling.PartitionOffsets, len(offs))
		for i, o := range offs {
			out[i] = scaling.PartitionOffsets{Partition: o.Partition, End: o.End, Committed: o.Committed}
		}
		return out, nil
	}
	ps, err := v.a.src.Partitions(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]scaling.PartitionOffsets, len(ps))
	for i, p := range ps {
		out[i] = scaling.PartitionOffsets{Partition: p, End: scaling.Unknown, Committed: scaling.Unknown}
	}
	return out, nil
}

// healthPoints publishes this worker's health counts (dead letters, failed sink writes,
// failed commits, stalled partitions) every scaling period, zeros included, stamped with the
// period and the service's dimensions: alarms on them must see data whether or not windows
// close, and each worker has its own to add (CloudWatch sums them over the service's series).
type healthPoints struct {
	meter   *pipeline.HealthMeter
	tracker *lag.Tracker
	every   time.Duration
	fleet   []pipeline.Dimension
	sink    pipeline.Sink // nil: CloudWatch is off
	log     *slog.Logger
}

func (h *healthPoints) run(ctx context.Context) {
	if h.sink == nil {
		return
	}
	load.OnGrid(ctx, h.every, 0, func(now time.Time) {
		at := now.Truncate(h.every)
		pts := append(h.meter.Points(nil), lag.StalledPoint(h.tracker.Snapshot(now)))
		for i := range pts {
			pts[i].Time, pts[i].Dimensions = at, h.fleet
		}
		if err := h.sink.Write(ctx, &pipeline.Output{Points: pts}); err != nil && ctx.Err() == nil {
			h.log.Warn("publishing the health counts failed; the next period publishes again", "err", err)
		}
	})
}
