package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/weirstream/weir/pipeline/throughput"
)

// summaryPrefix is where the throughput operator's summary reports live (sinks/layout): one
// object per window per output owner today, one per window from the fleet's aggregator to come.
// Summing every object of a window counts both the same way.
const summaryPrefix = "kind=summary/operator=" + throughput.Name + "/"

// counted is what the outputs say the fleet processed.
type counted struct {
	// Cells is records per (partition, window), summed over every summary object.
	Cells cellCounts
	// DeadLetters is the dead letters the summaries counted, per reason, per partition, summed
	// over every window.
	DeadLetters map[string]map[int32]int64
	// Late is records counted as late (whatever the late policy did with them), per partition.
	Late map[int32]int64
	// Letters is the dead-letter objects' lines: by reason, how often each record appears.
	Letters map[string]map[letter]int
	// LateAt is the event time of each record dead-lettered as late: the cell it was
	// produced for.
	LateAt map[letter]time.Time
	// Objects is how many summary objects there were, Reports how many reports they held.
	Objects, Reports int
}

// deadLetterPrefix is where the dead letters of a stream live (sinks/layout): one JSON line
// per record, with its partition and position.
func deadLetterPrefix(topic string) string { return "kind=deadletter/stream=" + topic + "/" }

// letter is one record in the dead letters.
type letter struct {
	Partition int32
	Position  string
}

// countOutputs reads every summary report and every dead letter of topic in out.
func countOutputs(ctx context.Context, out output, topic string) (*counted, error) {
	c := &counted{Cells: cellCounts{}, DeadLetters: map[string]map[int32]int64{}, Late: map[int32]int64{},
		Letters: map[string]map[letter]int{}, LateAt: map[letter]time.Time{}}
	err := out.walk(ctx, summaryPrefix, func(key string, body []byte) error {
		return eachLine(key, body, func() { c.Objects++ }, func(line []byte) error {
			var rep summaryReport
			if err := json.Unmarshal(line, &rep); err != nil {
				return err
			}
			c.Reports++
			return c.add(&rep, topic)
		})
	})
	if err != nil {
		return nil, err
	}
	err = out.walk(ctx, deadLetterPrefix(topic), func(key string, body []byte) error {
		return eachLine(key, body, func() {}, func(line []byte) error {
			var l struct {
				Partition string    `json:"partition"`
				Position  string    `json:"position"`
				Reason    string    `json:"reason"`
				Time      time.Time `json:"time"`
			}
			if err := json.Unmarshal(line, &l); err != nil {
				return err
			}
			n, err := partitionIndex(l.Partition)
			if err != nil {
				return err
			}
			if c.Letters[l.Reason] == nil {
				c.Letters[l.Reason] = map[letter]int{}
			}
			c.Letters[l.Reason][letter{Partition: n, Position: l.Position}]++
			if l.Reason == "late" {
				c.LateAt[letter{Partition: n, Position: l.Position}] = l.Time
			}
			return nil
		})
	})
	return c, err
}

// eachLine calls fn with every non-empty line of a JSON-lines object (gzip-compressed when its
// key says so), after calling object once if the key names such an object.
func eachLine(key string, body []byte, object func(), fn func(line []byte) error) error {
	if !strings.HasSuffix(key, ".json") && !strings.HasSuffix(key, ".json.gz") {
		return nil
	}
	object()
	r := io.Reader(bytes.NewReader(body))
	if strings.HasSuffix(key, ".gz") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		r = zr
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		if err := fn(sc.Bytes()); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}

// summaryReport is the part of a throughput summary report (throughput.Report) the harness
// reads, by its JSON names, as Athena and every other reader of the outputs do. Dead letters are
// read as a map so that a reason added later is counted too.
type summaryReport struct {
	Start      time.Time `json:"window_start"`
	Partitions []struct {
		Stream      string           `json:"stream"`
		Partition   string           `json:"partition"`
		Records     int64            `json:"records"`
		Late        int64            `json:"late"`
		DeadLetters map[string]int64 `json:"dead_letters"`
	} `json:"partitions"`
}

// add folds one window's report into the counts.
func (c *counted) add(rep *summaryReport, topic string) error {
	win := rep.Start.Unix()
	for _, p := range rep.Partitions {
		if p.Stream != topic {
			continue
		}
		part, err := partitionIndex(p.Partition)
		if err != nil {
			return err
		}
		if p.Records != 0 {
			c.Cells[cell{Partition: part, Window: win}] += p.Records
		}
		if p.Late != 0 {
			c.Late[part] += p.Late
		}
		for reason, v := range p.DeadLetters {
			if v == 0 {
				continue
			}
			if c.DeadLetters[reason] == nil {
				c.DeadLetters[reason] = map[int32]int64{}
			}
			c.DeadLetters[reason][part] += v
		}
	}
	return nil
}
