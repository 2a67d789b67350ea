package pipeline

import (
	"cmp"
	"strconv"
	"strings"
)

// Position is a record's place in its partition.
//
// Offset orders records: for Kafka it is the record's offset; for Kinesis the source assigns a
// strictly increasing ordinal per shard lease, because sequence numbers are 128-bit decimal
// strings that are costly to compare. The runtime only ever compares Offsets. Seq and Sub keep
// the native Kinesis position (sequence number, KPL sub-sequence number) so a source can
// checkpoint it and dead letters can name it.
type Position struct {
	Offset int64
	Seq    string
	Sub    int32
}

// Before reports whether p comes before q in the same partition.
func (p Position) Before(q Position) bool { return p.Offset < q.Offset }

// String returns the native form: the Kafka offset, or "sequence:sub" for Kinesis.
func (p Position) String() string {
	if p.Seq == "" {
		return strconv.FormatInt(p.Offset, 10)
	}
	return p.Seq + ":" + strconv.FormatInt(int64(p.Sub), 10)
}

// comparePositions orders two positions of one partition by their native form where both have
// one (Kinesis sequence numbers: decimal strings, so the shorter is the smaller, then the KPL
// sub-sequence number), else by Offset. The runtime's own bookkeeping compares Offsets, which
// only order the records of one lease on Kinesis; positions carried over from an earlier owner
// in a Checkpoint must be compared natively.
func comparePositions(a, b Position) int {
	if a.Seq == "" || b.Seq == "" {
		return cmp.Compare(a.Offset, b.Offset)
	}
	return cmp.Or(cmp.Compare(len(a.Seq), len(b.Seq)), strings.Compare(a.Seq, b.Seq), cmp.Compare(a.Sub, b.Sub))
}
