package scaling

import (
	"time"

	"github.com/weirstream/weir/pipeline"
)

// Signal is one published evaluation: what was measured, what was decided, when and by whom.
// It is the body of GET /v1/scaling and the source of the CloudWatch points and Prometheus
// gauges, so all three always agree.
type Signal struct {
	Time     time.Time `json:"time"`
	Inputs   Inputs    `json:"inputs"`
	Decision Decision  `json:"decision"`
	// Fleet is what the aggregator's sizing saw: the load reports, the workers, partitions
	// nobody reported.
	Fleet *Detail `json:"fleet,omitempty"`
}

// Evaluate sizes the fleet for in and stamps the result. Pure, like Desired.
func Evaluate(now time.Time, in Inputs, cfg Config) Signal {
	return Signal{Time: now, Inputs: in, Decision: Desired(in, cfg)}
}

// The CloudWatch metric names of the signal. The ECS scaling policy in deploy/ tracks
// MetricDesiredTasks, and the alarms and dashboards read others; changing a name here breaks
// the deployed policy (deploy's tests check every one against a real run's output).
const (
	MetricDesiredTasks          = "DesiredTasks"
	MetricCurrentTasks          = "CurrentTasks"
	MetricBacklogSecondsPerTask = "BacklogSecondsPerTask"
	MetricTrueRatePerTask       = "TrueRatePerTask"
	MetricLagSum                = "ScalingLagSum"
	MetricLagMax                = "ScalingLagMax"
	MetricArrivalRate           = "ScalingArrivalRate"
	MetricProcessedRate         = "ScalingProcessedRate"
	MetricUtilization           = "ScalingUtilization"
)

// Points turns s into CloudWatch points, each once with fleet (the dimensions of the service,
// e.g. ServiceName): one series per metric and service, published by the fleet's aggregator
// alone. Every metric is emitted on every call, as zero when there is nothing to report,
// because target tracking never scales in on missing data: an idle fleet that stopped
// publishing would stay at its peak size forever. fleet is shared by the points, not copied.
func Points(s Signal, fleet []pipeline.Dimension) []pipeline.Point {
	d, in := s.Decision, s.Inputs
	values := [...]struct {
		name  string
		unit  pipeline.Unit
		value float64
	}{
		{MetricDesiredTasks, pipeline.UnitCount, float64(d.DesiredTasks)},
		{MetricCurrentTasks, pipeline.UnitCount, float64(max(in.CurrentTasks, 1))},
		{MetricBacklogSecondsPerTask, pipeline.UnitSeconds, d.BacklogSecondsPerTask},
		{MetricTrueRatePerTask, pipeline.UnitCountPerSec, d.TrueRatePerTask},
		{MetricLagSum, pipeline.UnitCount, nonNegative(in.LagSum)},
		{MetricLagMax, pipeline.UnitCount, nonNegative(in.LagMax)},
		{MetricArrivalRate, pipeline.UnitCountPerSec, nonNegative(in.ArrivalRate)},
		{MetricProcessedRate, pipeline.UnitCountPerSec, nonNegative(in.ProcessedRate)},
		{MetricUtilization, pipeline.UnitPercent, 100 * d.Utilization},
	}
	points := make([]pipeline.Point, 0, len(values))
	for _, v := range values {
		points = append(points, pipeline.Point{Name: v.name, Dimensions: fleet, Time: s.Time, Unit: v.unit, Value: v.value})
	}
	return points
}
