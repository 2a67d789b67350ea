package main

import (
	"encoding/json"
	"slices"
	"time"
)

// cell is one partition's part of one window: the unit in which the harness counts. A record
// belongs to exactly one cell, so a record counted twice shows as a surplus in its cell and a
// record never counted as a deficit, and the two cannot cancel out across cells.
type cell struct {
	Partition int32
	Window    int64 // the window's start, Unix seconds
}

// cellCounts is records per cell.
type cellCounts map[cell]int64

// total is the sum over every cell.
func (c cellCounts) total() int64 {
	var n int64
	for _, v := range c {
		n += v
	}
	return n
}

// cellJSON is a cell count as the JSON files hold it.
type cellJSON struct {
	Partition int32     `json:"partition"`
	Window    time.Time `json:"window"`
	Records   int64     `json:"records"`
}

// MarshalJSON writes the cells as a list, ordered by window then partition.
func (c cellCounts) MarshalJSON() ([]byte, error) {
	list := make([]cellJSON, 0, len(c))
	for k, v := range c {
		list = append(list, cellJSON{Partition: k.Partition, Window: time.Unix(k.Window, 0).UTC(), Records: v})
	}
	slices.SortFunc(list, func(a, b cellJSON) int {
		if d := a.Window.Compare(b.Window); d != 0 {
			return d
		}
		return int(a.Partition - b.Partition)
	})
	return json.Marshal(list)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (c *cellCounts) UnmarshalJSON(data []byte) error {
	var list []cellJSON
	if err := json.Unmarshal(data, &list); err != nil {
		return err
	}
	*c = make(cellCounts, len(list))
	for _, e := range list {
		(*c)[cell{Partition: e.Partition, Window: e.Window.Unix()}] += e.Records
	}
	return nil
}

// tally is what the producer wrote, as acknowledged by the broker: on-time records per cell
// (the window their stamp says) and, per partition, the records it made undecodable on purpose,
// which must come out as dead letters with reason "decode".
type tally struct {
	Cells       cellCounts      `json:"cells"`
	Undecodable map[int32]int64 `json:"undecodable"`
	// Failed counts records the broker never acknowledged. Such a record may or may not have
	// been written, so a trial with any cannot be judged exactly.
	Failed int64 `json:"failed"`
	// Last is, per partition, the sequence number of its last record, where the source's
	// checkpoints are sequence numbers (Kinesis): the drain waits until every checkpoint is
	// past it.
	Last map[int32]string `json:"last,omitempty"`
	// Unanswered is the producer's calls that got no answer, where the count is taken from
	// the stream itself (Kinesis) and is exact regardless: reported, not a failure.
	Unanswered int64 `json:"unanswered,omitempty"`
	// DeliveredLate is, per cell, on-time records that reached the stream only after their
	// window's end + the workers' allowed lateness (Kafka: acknowledged then; Kinesis: their
	// arrival time): a producer stalled between stamping and sending them, as a loaded machine
	// does to a process for seconds. Had their partitions been quiet meanwhile, the wall-clock
	// rule (pipeline/eventtime.go, rule 5) closed their window before they came, and the
	// workers rightly dead-letter them as late.
	DeliveredLate cellCounts `json:"delivered_late,omitempty"`
}

func newTally() *tally {
	return &tally{Cells: cellCounts{}, Undecodable: map[int32]int64{}, DeliveredLate: cellCounts{}}
}

func (t *tally) records() int64 {
	n := t.Cells.total()
	for _, v := range t.Undecodable {
		n += v
	}
	return n
}

// union is every key of the maps.
func union[M ~map[K]V, K comparable, V any](ms ...M) map[K]bool {
	keys := map[K]bool{}
	for _, m := range ms {
		for k := range m {
			keys[k] = true
		}
	}
	return keys
}
