package scaling

import (
	"time"

	"github.com/weirstream/weir/pipeline"
)

// Signal is one published evaluation: what was measured, what was decided, when and by whom.
// It is the body of GET /v1/scaling and the source of the CloudWatch points and Prometheus
// gauges, so all three always agree.
type Signal struct {
	Time time.Time `json:"time"`
	// TaskID is the ECS task id of the publisher, empty when not running on ECS.
	TaskID   string   `json:"task_id,omitempty"`
	Inputs   Inputs   `json:"inputs"`
	Decision Decision `json:"decision"`
	// Fleet is what the aggregator's sizing saw (the load reports, the workers, partitions
	// nobody reported); nil for a per-task signal.
	Fleet *Detail `json:"fleet,omitempty"`
}

// Evaluate sizes the fleet for in and stamps the result. Pure, like Desired.
func Evaluate(now time.Time, taskID string, in Inputs, cfg Config) Signal {
	return Signal{Time: now, TaskID: taskID, Inputs: in, Decision: Desired(in, cfg)}
}

// The CloudWatch metric names of the signal. The ECS scaling policy in deploy/ tracks
// MetricDesiredTasks; changing a name here breaks the deployed policy.
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

// DimensionTaskID is the dimension name carrying the ECS task id.
const DimensionTaskID = "TaskId"

// Points turns s into CloudWatch points. Every metric is emitted on every call, as zero when
// there is nothing to report, because target tracking never scales in on missing data: an idle
// fleet that stopped publishing would stay at its peak size forever.
//
// Each metric is emitted once with fleet (the dimensions shared by every task of the service,
// e.g. ServiceName) so that CloudWatch aggregates the tasks into the series the scaling policy
// reads, and once more with TaskId added when the task id is known, for per-task diagnosis.
// fleet is not modified.
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
	sets := [][]pipeline.Dimension{fleet}
	if s.TaskID != "" {
		perTask := make([]pipeline.Dimension, 0, len(fleet)+1)
		perTask = append(append(perTask, fleet...), pipeline.Dimension{Name: DimensionTaskID, Value: s.TaskID})
		sets = append(sets, perTask)
	}
	points := make([]pipeline.Point, 0, len(values)*len(sets))
	for _, dims := range sets {
		for _, v := range values {
			points = append(points, pipeline.Point{Name: v.name, Dimensions: dims, Time: s.Time, Unit: v.unit, Value: v.value})
		}
	}
	return points
}
