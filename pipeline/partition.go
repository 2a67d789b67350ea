package pipeline

import "strings"

// Partition names one ordered unit of input: a Kafka topic partition or a Kinesis shard.
// It is comparable and cheap to copy, so it serves as a map key and travels with every record
// without allocating.
type Partition struct {
	// Stream is the Kafka topic or the Kinesis stream name.
	Stream string
	// ID is the Kafka partition number in decimal, or the Kinesis shard id.
	ID string
}

// String returns "stream/id", the form used in logs, metric labels and dead-letter records.
func (p Partition) String() string { return p.Stream + "/" + p.ID }

// ComparePartitions orders partitions by stream, then by id: numerically for decimal ids (Kafka
// partition "2" before "10"), as strings otherwise (Kinesis shard ids, which are zero-padded).
// Reports list partitions in this order, and the fleet aggregator merges in it, so that the
// same partials always give the same bytes.
func ComparePartitions(a, b Partition) int {
	if a.Stream != b.Stream {
		return strings.Compare(a.Stream, b.Stream)
	}
	if len(a.ID) != len(b.ID) && isDecimal(a.ID) && isDecimal(b.ID) {
		return len(a.ID) - len(b.ID)
	}
	return strings.Compare(a.ID, b.ID)
}

func isDecimal(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
