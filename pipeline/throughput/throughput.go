// Package throughput is the simplest operator: records and bytes per partition per window. It
// makes the flow visible end to end and is the reference for writing an operator.
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
	Records   int64  `msgpack:"r" json:"records"`
	Bytes     int64  `msgpack:"b" json:"bytes"`
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
				s.Parts[i].Records += oc.Records
				s.Parts[i].Bytes += oc.Bytes
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

// Report is the body of the per-window summary report.
type Report struct {
	Operator   string    `json:"operator"`
	Start      time.Time `json:"window_start"`
	End        time.Time `json:"window_end"`
	Records    int64     `json:"records"`
	Bytes      int64     `json:"bytes"`
	Partitions []Counts  `json:"partitions"`
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
