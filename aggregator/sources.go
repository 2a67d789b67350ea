package aggregator

import (
	"context"

	"github.com/weirstream/weir/pipeline"
)

// PartitionSource lists the partitions whose partials make a window complete: on Kafka the
// configured topics' partitions from metadata, on Kinesis every shard in the lease table. A
// partition that delivered a later window, or ended before a window, has passed it; one that
// is listed and has done neither holds the window back until the grace deadline.
type PartitionSource interface {
	Partitions(ctx context.Context) ([]pipeline.Partition, error)
}

// ReportSink writes a window's reports (Output.Reports) under deterministic keys:
// sinks/s3.Sink and sinks/file.Sink. The aggregator's Outputs have no Owner, so every
// aggregator writes the same keys.
type ReportSink interface {
	Write(ctx context.Context, out *pipeline.Output) error
}

// MetricSink publishes a window's points (Output.Points): sinks/cloudwatch, API or EMF. It is
// called at most once per window across the fleet, behind the window's publish claim.
type MetricSink interface {
	Write(ctx context.Context, out *pipeline.Output) error
}
