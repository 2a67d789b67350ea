// Package throughput is the simplest operator: records and bytes per partition per window, and
// what the window lost (late records, dead letters by reason). It makes the flow visible end to
// end and is the reference for writing an operator.
package throughput

import (
	"fmt"
	"slices"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
)

// Name is the operator's name: its report's name and its metrics' Operator dimension.
const Name = "throughput"

// Operator counts records and bytes. It needs no payload fields, so on its own it never causes
// a record to be decoded.
type Operator struct{}

// New returns the throughput operator.
func New() *Operator { return &Operator{} }

// Name implements pipeline.Operator.
func (*Operator) Name() string { return Name }

// NewState implements pipeline.Operator.
func (*Operator) NewState(p pipeline.Partition) pipeline.State {
	return &State{Parts: []Counts{{Stream: p.Stream, Partition: p.ID}}}
}

// Counts is one partition's totals in a window.
type Counts struct {
	Stream    string `msgpack:"s" json:"stream"`
	Partition string `msgpack:"p" json:"partition"`
	// Records counts the records folded into the window: with window.late: oldest-open, late
	// records placed here are among them.
	Records int64 `msgpack:"r" json:"records"`
	Bytes   int64 `msgpack:"b" json:"bytes"`
	// Late counts records of the partition that arrived after their own window had closed,
	// counted in this window (the partition's oldest open one when they arrived), whatever
	// the late policy did with them.
	Late int64 `msgpack:"l,omitempty" json:"late"`
	// DeadLetters counts records of the partition written to the dead-letter sink while this
	// was its oldest open window, by reason.
	DeadLetters DeadLetterCounts `msgpack:"d" json:"dead_letters"`
}

// DeadLetterCounts counts dead letters by reason (pipeline.DeadLetter.Reason). A struct, not a
// map: its encoding is the same every time, so a partial replayed is the same bytes.
type DeadLetterCounts struct {
	Decode    int64 `msgpack:"d,omitempty" json:"decode,omitempty"`
	EventTime int64 `msgpack:"e,omitempty" json:"event_time,omitempty"`
	Late      int64 `msgpack:"l,omitempty" json:"late,omitempty"`
}

func (d *DeadLetterCounts) add(o DeadLetterCounts) {
	d.Decode += o.Decode
	d.EventTime += o.EventTime
	d.Late += o.Late
}

// State is a window's counts: one entry per partition that contributed, which is one while the
// state is a partition's partial and becomes many as partials merge.
type State struct {
	Parts []Counts `msgpack:"parts"`
}

// Observe implements pipeline.State. A partial has exactly one entry, its own partition.
func (s *State) Observe(r *pipeline.Record, _ []decode.Value) {
	c := &s.Parts[0]
	c.Records++
	c.Bytes += r.Size()
}

// CountDrops implements pipeline.DropCounter.
func (s *State) CountDrops(reason string, deadLettered bool, n int64) {
	c := &s.Parts[0]
	if reason == "late" {
		c.Late += n
	}
	if !deadLettered {
		return
	}
	switch reason {
	case "decode":
		c.DeadLetters.Decode += n
	case "event_time":
		c.DeadLetters.EventTime += n
	case "late":
		c.DeadLetters.Late += n
	}
}

// Merge implements pipeline.State.
func (s *State) Merge(other pipeline.State) error {
	o, ok := other.(*State)
	if !ok {
		return fmt.Errorf("throughput: cannot merge %T", other)
	}
	for _, oc := range o.Parts {
		found := false
		for i := range s.Parts {
			if s.Parts[i].Stream == oc.Stream && s.Parts[i].Partition == oc.Partition {
				s.Parts[i].add(oc)
				found = true
				break
			}
		}
		if !found {
			s.Parts = append(s.Parts, oc)
		}
	}
	return nil
}

// add folds o's numbers into c.
func (c *Counts) add(o Counts) {
	c.Records += o.Records
	c.Bytes += o.Bytes
	c.Late += o.Late
	c.DeadLetters.add(o.DeadLetters)
}

// Report is the body of the per-window summary report. Late and DeadLetters are the window's
// totals of the partitions' (see Counts).
type Report struct {
	Operator    string           `json:"operator"`
	Start       time.Time        `json:"window_start"`
	End         time.Time        `json:"window_end"`
	Records     int64            `json:"records"`
	Bytes       int64            `json:"bytes"`
	Late        int64            `json:"late"`
	DeadLetters DeadLetterCounts `json:"dead_letters"`
	Partitions  []Counts         `json:"partitions"`
}

// Emit implements pipeline.State: per-partition and per-stream Records and Bytes points, and a
// summary report.
func (s *State) Emit(w pipeline.Window, out *pipeline.Output) {
	slices.SortFunc(s.Parts, func(a, b Counts) int {
		return pipeline.ComparePartitions(pipeline.Partition{Stream: a.Stream, ID: a.Partition},
			pipeline.Partition{Stream: b.Stream, ID: b.Partition})
	})
	rep := Report{Operator: Name, Start: w.Start, End: w.End, Partitions: s.Parts}
	streams := map[string]*Counts{}
	var order []string
	for _, c := range s.Parts {
		rep.Records += c.Records
		rep.Bytes += c.Bytes
		rep.Late += c.Late
		rep.DeadLetters.add(c.DeadLetters)
		dims := []pipeline.Dimension{{Name: "Stream", Value: c.Stream}, {Name: "Partition", Value: c.Partition}}
		out.Points = append(out.Points,
			pipeline.Point{Name: "Records", Dimensions: dims, Time: w.Start, Unit: pipeline.UnitCount, Value: float64(c.Records)},
			pipeline.Point{Name: "Bytes", Dimensions: dims, Time: w.Start, Unit: pipeline.UnitBytes, Value: float64(c.Bytes)})
		t, ok := streams[c.Stream]
		if !ok {
			t = &Counts{Stream: c.Stream}
			streams[c.Stream] = t
			order = append(order, c.Stream)
		}
		t.Records += c.Records
		t.Bytes += c.Bytes
	}
	for _, name := range order {
		t := streams[name]
		dims := []pipeline.Dimension{{Name: "Stream", Value: name}}
		out.Points = append(out.Points,
			pipeline.Point{Name: "Records", Dimensions: dims, Time: w.Start, Unit: pipeline.UnitCount, Value: float64(t.Records)},
			pipeline.Point{Name: "Bytes", Dimensions: dims, Time: w.Start, Unit: pipeline.UnitBytes, Value: float64(t.Bytes)})
	}
	out.Reports = append(out.Reports, pipeline.Report{Kind: "summary", Name: Name, Body: rep})
}

// EncodeMsgpack implements msgpack.CustomEncoder.
func (s *State) EncodeMsgpack(enc *msgpack.Encoder) error { return enc.Encode(s.Parts) }

// DecodeMsgpack implements msgpack.CustomDecoder.
func (s *State) DecodeMsgpack(dec *msgpack.Decoder) error { return dec.Decode(&s.Parts) }
