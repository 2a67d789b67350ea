package lag

import "github.com/weirstream/weir/pipeline"

// MetricPartitionsStalled is the number of this worker's partitions in STALL or STOP status:
// not consumed at all, or consumed but never committed (a sink that cannot make windows
// durable). The deploy templates alarm on it.
const MetricPartitionsStalled = "LagPartitionsStalled"

// StalledPoint returns r's MetricPartitionsStalled point, without time or dimensions, for a
// publisher on a timer (the scaling signal's) to stamp. LagPartitions{Status} in the window
// outputs cannot stand in for it: a STOP partition is one whose windows do not become durable,
// and a STALL one holds every later window back, so window-borne points stop exactly then.
func StalledPoint(r Report) pipeline.Point {
	n := r.Total.ByStatus[STALL] + r.Total.ByStatus[STOP]
	return pipeline.Point{Name: MetricPartitionsStalled, Unit: pipeline.UnitCount, Value: float64(n)}
}
