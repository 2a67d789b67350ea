package load

import (
	"time"

	"github.com/weirstream/weir/pipeline"
)

// Counters are a worker's running totals, which the Writer turns into one Report per period by
// differences. The worker builds them from the runtime (records) and the source (ownership,
// MillisBehindLatest).
type Counters struct {
	// Records is how many records the worker has processed since it started
	// (pipeline.Stats.Records): every partition's, owned now or not.
	Records int64
	// Partitions are the partitions the worker owns now.
	Partitions []PartitionCounters
}

// PartitionCounters are one owned partition's totals.
type PartitionCounters struct {
	Partition pipeline.Partition
	// Since is when the worker's current ownership of the partition began. A partition taken
	// again after a revoke has a new Since, which tells the Writer that Records started again
	// from zero. Zero means "before the Writer started".
	Since time.Time
	// Records is how many of the partition's records the worker processed since Since.
	Records int64
	// MillisBehind is Kinesis' MillisBehindLatest from the partition's last read; Unknown on
	// Kafka, and on a shard not read yet (no reading is not a reading of 0: see
	// worker.partitionCounters).
	MillisBehind int64
	// MillisBehindAt is when that read was answered; zero when unknown. A reader held up by a
	// full pipeline or a slow API reads rarely, so its reading can be seconds older than the
	// report: the sizing measures the stretch the reader got through between the two reads,
	// not between the two reports.
	MillisBehindAt time.Time
}
