package lag

import (
	"encoding/json"
	"math"

	"github.com/weirstream/weir/pipeline"
)

// Report is a Snapshot of every tracked partition at one instant.
type Report struct {
	Partitions []PartitionLag `json:"partitions"`
	Total      Aggregate      `json:"total"`
}

// PartitionLag is one partition's lag. Values a source cannot know are marked, not zeroed:
// Records is Unknown (-1, JSON null) without an end offset (Kinesis), Seconds is NaN (JSON
// null) without any time source, and DrainSeconds is +Inf (JSON null) when the partition has
// lag and processed nothing over the window, and NaN (JSON null) when its lag is unknown.
type PartitionLag struct {
	Partition pipeline.Partition
	// Records is the offset lag: end offset − committed position.
	Records int64
	// Seconds is the time lag: age of the newest processed record, 0 when caught up.
	Seconds float64
	// DrainSeconds is Records ÷ Rate.
	DrainSeconds float64
	// Rate is the processing rate over the window, records/s.
	Rate float64
	// ArrivalRate is the rate records were appended over the window, records/s.
	ArrivalRate float64
	Status      Status
}

// MarshalJSON writes unknown and infinite values as null, because JSON has no NaN or Inf.
func (p PartitionLag) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Stream       string   `json:"stream"`
		Partition    string   `json:"partition"`
		Records      *int64   `json:"records"`
		Seconds      *float64 `json:"seconds"`
		DrainSeconds *float64 `json:"drain_seconds"`
		Rate         float64  `json:"rate"`
		ArrivalRate  float64  `json:"arrival_rate"`
		Status       Status   `json:"status"`
	}{p.Partition.Stream, p.Partition.ID, knownInt(p.Records), finite(p.Seconds), finite(p.DrainSeconds),
		p.Rate, p.ArrivalRate, p.Status})
}

// Aggregate summarises the tracked partitions. Unknown values are left out of the sums and
// maxima, and counted: a sum or maximum that leaves a partition out is only a lower bound (the
// partition left out may be the one furthest behind), so the exporters publish it only when it
// is complete (RecordsComplete, SecondsComplete) rather than pass a lower bound, or the 0 of
// no known value at all, for the worker's lag. With no partition at all every field is 0 and
// complete, so idle workers publish zeros.
type Aggregate struct {
	Partitions int `json:"partitions"`
	// Unknown counts the partitions whose time lag is unknown: taken and not sampled yet
	// (Tracker.Track), or a Kinesis shard whose first GetRecords has not answered.
	Unknown int `json:"unknown"`
	// NoOffsetLag counts the partitions without an offset lag: every Kinesis shard (no end
	// offset), and a Kafka partition before its first sample.
	NoOffsetLag int `json:"no_offset_lag"`
	// RecordsSum and RecordsMax are over partitions with a known offset lag.
	RecordsSum int64 `json:"records_sum"`
	RecordsMax int64 `json:"records_max"`
	// SecondsMax is over partitions with a known time lag: a lower bound while Unknown > 0
	// (still proof that a partition is that far behind, which is what task protection and
	// liveness ask).
	SecondsMax float64 `json:"seconds_max"`
	// DrainSecondsMax is +Inf (JSON null) when any partition is not draining; over partitions
	// with a known offset lag, like RecordsMax.
	DrainSecondsMax float64 `json:"-"`
	Rate            float64 `json:"rate"`
	ArrivalRate     float64 `json:"arrival_rate"`
	// ByStatus counts partitions per status, indexed by Status.
	ByStatus [numStatuses]int `json:"-"`
}

// MarshalJSON adds the fields that need care: the drain maximum and the status counts by name.
func (a Aggregate) MarshalJSON() ([]byte, error) {
	type plain Aggregate // without the method, so this does not recurse
	byStatus := make(map[string]int, numStatuses)
	for s, n := range a.ByStatus {
		byStatus[Status(s).String()] = n
	}
	return json.Marshal(struct {
		plain
		DrainSecondsMax *float64       `json:"drain_seconds_max"`
		ByStatus        map[string]int `json:"by_status"`
	}{plain(a), finite(a.DrainSecondsMax), byStatus})
}

// RecordsComplete reports whether RecordsSum, RecordsMax and DrainSecondsMax cover every
// partition (never on Kinesis, which has no offset lag, unless it owns no shard).
func (a Aggregate) RecordsComplete() bool { return a.NoOffsetLag == 0 }

// SecondsComplete reports whether SecondsMax covers every partition.
func (a Aggregate) SecondsComplete() bool { return a.Unknown == 0 }

func (a *Aggregate) add(p PartitionLag) {
	a.Partitions++
	if p.Records != Unknown {
		a.RecordsSum += p.Records
		a.RecordsMax = max(a.RecordsMax, p.Records)
	} else {
		a.NoOffsetLag++
	}
	if !math.IsNaN(p.Seconds) {
		a.SecondsMax = max(a.SecondsMax, p.Seconds)
	} else {
		a.Unknown++
	}
	if !math.IsNaN(p.DrainSeconds) {
		a.DrainSecondsMax = max(a.DrainSecondsMax, p.DrainSeconds)
	}
	a.Rate += p.Rate
	a.ArrivalRate += p.ArrivalRate
	a.ByStatus[p.Status]++
}

func knownInt(v int64) *int64 {
	if v == Unknown {
		return nil
	}
	return &v
}

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}
