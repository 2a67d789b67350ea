package lag

import "time"

// Unknown marks a position the source cannot tell (Kinesis has no end offset; a partition
// never committed has no committed position).
const Unknown int64 = -1

// Sample is one observation of a partition, as a source sees it at Time. Positions are
// pipeline.Position.Offset values: Kafka offsets, or the Kinesis source's per-lease ordinals.
// Every position is "the offset of the next record", like Kafka's end offset and commits.
type Sample struct {
	// Time is the wall-clock time of the observation.
	Time time.Time
	// End is the offset the next appended record will get (Kafka's high watermark / end
	// offset); Unknown for Kinesis.
	End int64
	// Committed is where the group resumes after a restart (Kafka's committed offset, the
	// Kinesis checkpoint's ordinal); Unknown when the group never committed this partition.
	Committed int64
	// Start is where the group consumes from while it has no commit (the log start offset with
	// start "earliest"): the base of the offset lag when Committed is Unknown.
	Start int64
	// Processed is the offset after the newest record handed to the pipeline; Unknown if the
	// source cannot tell.
	Processed int64
	// NewestRecordTime is the broker or arrival time of the newest processed record, zero when
	// unknown. Without it, Kafka time lag is estimated from the End history (see ArrivalTime).
	NewestRecordTime time.Time
	// MillisBehind is Kinesis' MillisBehindLatest from the last GetRecords; Unknown for Kafka,
	// and for a shard whose first GetRecords has not answered (never 0 then: 0 is caught up).
	MillisBehind int64
}

// base is the position the offset lag is measured from: the commit, or without one the start.
func (s Sample) base() int64 {
	if s.Committed >= 0 {
		return s.Committed
	}
	return s.Start
}

// progress is the position that moves as records are processed: Processed when known, else
// the committed position.
func (s Sample) progress() int64 {
	if s.Processed >= 0 {
		return s.Processed
	}
	return s.base()
}
