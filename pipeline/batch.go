package pipeline

import "time"

// Batch is a run of consecutive records of one partition, in position order, as one fetch
// returned them. A source hands batches of a partition to that partition's runner strictly in
// order.
type Batch struct {
	Partition Partition
	Records   []Record
	// Bytes is what the source charged to the in-flight Budget for this batch: the records'
	// payload and, where the source knows it, the memory each record costs besides.
	Bytes int64
	// More says the source knows further records of the partition are already available (Kafka:
	// the batch ended below the high watermark; Kinesis: MillisBehindLatest > 0). A partition
	// whose last batch had More is never quiet, however long backpressure starves it: the
	// wall-clock rule of event time and idleness (pipeline/eventtime.go) are only for
	// partitions that are caught up. Sources that cannot tell leave it false.
	//
	// A runner starts out assuming its partition is behind. A source that finds a newly
	// assigned partition has nothing to read sends an empty Batch (no Records, More false) so
	// the partition can become idle; otherwise it would hold back every window.
	More bool
	// CaughtUpAt, with More false, is the time as of which the source knows the partition had
	// nothing more waiting: when it sent the request that showed it (Kinesis: an empty
	// GetRecords at MillisBehindLatest 0; Kafka: end offsets no further than what it has read).
	// A source that sets it confirms the claim again while the partition stays caught up, and
	// the wall-clock rule moves a quiet partition's watermark no further than its last
	// confirmation (rule 4 of pipeline/eventtime.go): a fetch that hangs stops confirming, and
	// records that reach the broker meanwhile stay on time. Zero says nothing new: a source that
	// has never set it cannot confirm, and the claim holds until its next batch.
	CaughtUpAt time.Time
	// End says the partition ended after these records (a Kinesis shard read to SHARD_END):
	// nothing will ever follow. The runner closes every window it has open, whatever the
	// watermark, and marks its last partial Ended.
	End bool
	// Done, if set, is called exactly once by the runner when every record of the batch has been
	// folded into window state (or dead-lettered). After Done the source may reuse the records'
	// memory and release Bytes from the budget. Done says nothing about durability: commit
	// positions come through the partition's Committer. Done must not block.
	Done func()
}
