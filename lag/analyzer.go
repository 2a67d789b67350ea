package lag

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/weirstream/weir/pipeline"
)

// The CloudWatch metric names of the lag points.
const (
	MetricRecordsMax      = "LagRecordsMax"
	MetricRecordsSum      = "LagRecordsSum"
	MetricSecondsMax      = "LagSecondsMax"
	MetricDrainSecondsMax = "LagDrainSecondsMax"
	MetricPartitions      = "LagPartitions" // with a Status dimension
	// MetricPartitionsUnknown counts the partitions whose time lag is unknown
	// (Aggregate.Unknown): while it is above 0, MetricSecondsMax is not published.
	MetricPartitionsUnknown = "LagPartitionsUnknown"
	MetricRecords           = "LagRecords" // per partition
	MetricSeconds           = "LagSeconds" // per partition
	MetricDrainSeconds      = "LagDrainSeconds"
)

// Analyzer appends this worker's lag to every window Output, so the lag reaches CloudWatch by
// the same sinks, and with the same once-per-window guard, as the window's own metrics.
//
// The points are stamped with the wall-clock time of the analysis, not the window start: lag
// is a property of now, and a worker catching up on an hour-old window is behind now, not an
// hour ago. The aggregates are emitted whenever they cover every owned partition, zero on an
// idle worker, so an alarm on them sees missing data only while a partition's lag is unknown;
// an unknown is never published as 0 (CloudWatch takes no NaN, so it is left out), and a
// maximum over the other partitions, a lower bound, is not published as the worker's either.
// LagPartitionsUnknown is always emitted: an alarm or scaling rule on LagSecondsMax should
// treat its missing data as "hold" (no scale-in), and can read the count to see why.
// Per-partition points only for the Config.PartitionPoints partitions with the largest lag,
// because each is a billed custom metric.
//
// Use Maximum (or Average) as the CloudWatch statistic: during a catch-up several windows
// close per minute and each adds a datapoint, so Sum would count the lag several times.
type Analyzer struct {
	Tracker *Tracker
	// Now is the wall clock; nil means time.Now.
	Now func() time.Time
	// Dimensions are added to every point (e.g. ServiceName, TaskId); not modified.
	Dimensions []pipeline.Dimension
}

// Analyze implements pipeline.Analyzer.
func (a *Analyzer) Analyze(out *pipeline.Output) {
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	at := now()
	out.Points = a.Points(a.Tracker.Snapshot(at), at.Truncate(time.Second), out.Points)
}

// Points appends r's CloudWatch points stamped at to dst.
func (a *Analyzer) Points(r Report, at time.Time, dst []pipeline.Point) []pipeline.Point {
	cfg := a.Tracker.cfg
	dims := func(extra ...pipeline.Dimension) []pipeline.Dimension {
		if len(extra) == 0 {
			return a.Dimensions
		}
		return append(append(make([]pipeline.Dimension, 0, len(a.Dimensions)+len(extra)), a.Dimensions...), extra...)
	}
	point := func(name string, unit pipeline.Unit, v float64, d []pipeline.Dimension) {
		dst = append(dst, pipeline.Point{Name: name, Dimensions: d, Time: at, Unit: unit, Value: v})
	}
	tot := r.Total
	if tot.RecordsComplete() {
		point(MetricRecordsMax, pipeline.UnitCount, float64(tot.RecordsMax), dims())
		point(MetricRecordsSum, pipeline.UnitCount, float64(tot.RecordsSum), dims())
		point(MetricDrainSecondsMax, pipeline.UnitSeconds, capDrain(tot.DrainSecondsMax, cfg.DrainCap), dims())
	}
	if tot.SecondsComplete() {
		point(MetricSecondsMax, pipeline.UnitSeconds, tot.SecondsMax, dims())
	}
	point(MetricPartitionsUnknown, pipeline.UnitCount, float64(tot.Unknown), dims())
	for st := Status(0); st < numStatuses; st++ {
		point(MetricPartitions, pipeline.UnitCount, float64(tot.ByStatus[st]),
			dims(pipeline.Dimension{Name: "Status", Value: st.String()}))
	}
	if cfg.PartitionPoints == 0 || len(r.Partitions) == 0 {
		return dst
	}
	top := slices.Clone(r.Partitions)
	slices.SortStableFunc(top, func(x, y PartitionLag) int {
		return cmp.Or(cmp.Compare(y.Records, x.Records), cmp.Compare(y.Seconds, x.Seconds))
	})
	for _, p := range top[:min(len(top), cfg.PartitionPoints)] {
		d := dims(pipeline.Dimension{Name: "Stream", Value: p.Partition.Stream},
			pipeline.Dimension{Name: "Partition", Value: p.Partition.ID})
		if p.Records != Unknown {
			point(MetricRecords, pipeline.UnitCount, float64(p.Records), d)
		}
		if !math.IsNaN(p.Seconds) {
			point(MetricSeconds, pipeline.UnitSeconds, p.Seconds, d)
		}
		if !math.IsNaN(p.DrainSeconds) {
			point(MetricDrainSeconds, pipeline.UnitSeconds, capDrain(p.DrainSeconds, cfg.DrainCap), d)
		}
	}
	return dst
}

// capDrain maps "never" (+Inf) and anything longer to the cap, because CloudWatch refuses
// non-finite values. Its callers never pass NaN (unknown): that is left out, not capped.
func capDrain(v float64, limit time.Duration) float64 {
	return min(v, limit.Seconds())
}
