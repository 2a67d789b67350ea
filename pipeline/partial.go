package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// Partial is one partition's operator state for one window: what a runner hands to the
// partial store when the window closes, and what the fleet's aggregator merges. It is written
// once per (window, partition), under a key made of those two only, and a replay of the same
// records must produce the same bytes: so it carries nothing about who processed it or when
// (no host, no wall-clock time), and EncodePartial's output is deterministic.
//
// Every partition writes a partial for every window from its start point on, empty ones
// included, and each one durable before the next one is written: that contiguity, in window
// order, is how the aggregator knows a partition has passed a window. A partition whose
// partial of window W+1 became visible while its partial of W was still in flight would look
// to the aggregator as if it had nothing for W, and W would be merged without it.
type Partial struct {
	// V is the format version, PartialVersion.
	V         int    `msgpack:"v"`
	Stream    string `msgpack:"stream"`
	Partition string `msgpack:"partition"`
	// Start and End are the window, Unix nanoseconds.
	Start int64 `msgpack:"start"`
	End   int64 `msgpack:"end"`
	// Records and Bytes were folded into this window.
	Records int64 `msgpack:"records"`
	Bytes   int64 `msgpack:"bytes"`
	// Dropped counts records dead-lettered, by reason (late, decode, event_time, …), while
	// this window was the partition's earliest open one (or, with none open, before the next
	// partial): deterministic on a replay, and how the fleet summary gets per-window late
	// counts.
	Dropped DropCounts `msgpack:"dropped"`
	// First and Last are the positions of the first and last record folded; zero when the
	// window is empty.
	First Position `msgpack:"first"`
	Last  Position `msgpack:"last"`
	// Ended says the partition ended (a Kinesis shard reached SHARD_END) in or before this
	// window: no partial of a later window will come from it.
	Ended bool `msgpack:"ended"`
	// Ops holds each operator's state, in the runtime's operator order. An operator that does
	// not read the partition's stream has no entry.
	Ops []OpState `msgpack:"ops"`
}

// OpState is one operator's serialised State within a Partial.
type OpState struct {
	// Name is Operator.Name.
	Name string `msgpack:"name"`
	// Config is Fingerprint of the operator that built the state: states of one name but
	// different configurations (a rolling deploy that changed a rule) must never be merged.
	Config string `msgpack:"config"`
	// State is the State's own msgpack encoding.
	State []byte `msgpack:"state"`
}

// PartialVersion is the Partial format this build writes and reads. A change that an older
// reader would misread must increment it; readers refuse any other version.
const PartialVersion = 1

// Fingerprinter is implemented by operators whose State depends on configuration beyond the
// operator's name (a contributor rule's filters, keys and sketch sizes). ConfigFingerprint is
// a short stable hash of exactly that configuration: equal fingerprints mean the states merge
// meaningfully, different ones mean they must not be mixed.
type Fingerprinter interface {
	ConfigFingerprint() string
}

// Fingerprint is op's configuration fingerprint, or "" for an operator whose state depends on
// nothing but its name.
func Fingerprint(op Operator) string {
	if f, ok := op.(Fingerprinter); ok {
		return f.ConfigFingerprint()
	}
	return ""
}

// NewOpState serialises one operator's state for a Partial.
func NewOpState(op Operator, st State) (OpState, error) {
	b, err := msgpack.Marshal(st)
	if err != nil {
		return OpState{}, fmt.Errorf("operator %s: encoding its state: %w", op.Name(), err)
	}
	return OpState{Name: op.Name(), Config: Fingerprint(op), State: b}, nil
}

// DropCounts counts records by the reason they were dead-lettered.
type DropCounts map[string]int64

// EncodeMsgpack implements msgpack.CustomEncoder with the keys in sorted order: the library
// sorts only a few map types itself, and a partial's bytes must not depend on map iteration.
func (d DropCounts) EncodeMsgpack(enc *msgpack.Encoder) error {
	if d == nil {
		return enc.EncodeNil()
	}
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if err := enc.EncodeMapLen(len(keys)); err != nil {
		return err
	}
	for _, k := range keys {
		if err := enc.EncodeString(k); err != nil {
			return err
		}
		if err := enc.EncodeInt(d[k]); err != nil {
			return err
		}
	}
	return nil
}

// DecodeMsgpack implements msgpack.CustomDecoder.
func (d *DropCounts) DecodeMsgpack(dec *msgpack.Decoder) error {
	n, err := dec.DecodeMapLen()
	if err != nil {
		return err
	}
	if n < 0 { // nil
		*d = nil
		return nil
	}
	if n > maxDropReasons {
		return fmt.Errorf("%d drop reasons, at most %d", n, maxDropReasons)
	}
	m := make(DropCounts, n)
	for range n {
		k, err := dec.DecodeString()
		if err != nil {
			return err
		}
		if _, dup := m[k]; dup {
			return fmt.Errorf("drop reason %q twice", k)
		}
		if m[k], err = dec.DecodeInt64(); err != nil {
			return err
		}
	}
	*d = m
	return nil
}

// maxDropReasons bounds what a decoder allocates for Dropped: reasons are a small fixed set.
const maxDropReasons = 256

// EncodePartial returns p's bytes. Equal partials encode to equal bytes: struct fields go in
// a fixed order, Dropped's keys are sorted, and integers take their shortest encoding.
func EncodePartial(p *Partial) ([]byte, error) {
	if p.V != PartialVersion {
		return nil, fmt.Errorf("partial: version %d, this build writes %d", p.V, PartialVersion)
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.SetSortMapKeys(true)
	enc.UseCompactInts(true)
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("partial: %w", err)
	}
	return buf.Bytes(), nil
}

// ErrPartialVersion is wrapped by DecodePartial for a partial of another format version.
var ErrPartialVersion = errors.New("partial: unsupported format version")

// DecodePartial parses and checks a partial. It trusts nothing: another version, trailing
// bytes, an inverted window, negative counts or two states of one operator are errors, so a
// damaged object is refused instead of merged.
func DecodePartial(b []byte) (*Partial, error) {
	var p Partial
	if err := DecodePartialInto(b, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// DecodePartialInto is DecodePartial into p, reusing the memory p holds from an earlier
// decode: its Ops and each operator's State buffer (a partial's states are most of its bytes;
// the aggregator decodes every partition's partial of every window), and its Dropped map.
// Nothing else of the earlier partial survives: p ends as DecodePartial would make it. On an
// error p holds an unspecified mix and must not be used, but may be decoded into again.
func DecodePartialInto(b []byte, p *Partial) error {
	ops, dropped := p.Ops[:cap(p.Ops)], p.Dropped
	for i := range ops {
		// Decoding reslices Ops within its capacity and decodes into the elements in place: a
		// field the encoding lacks must not keep an earlier partial's value.
		ops[i].Name, ops[i].Config, ops[i].State = "", "", ops[i].State[:0]
	}
	clear(dropped)
	*p = Partial{Ops: ops[:0], Dropped: dropped}
	r := bytes.NewReader(b)
	dec := msgpack.GetDecoder()
	defer msgpack.PutDecoder(dec)
	dec.Reset(r)
	if err := dec.Decode(p); err != nil {
		return fmt.Errorf("partial: %w", err)
	}
	if r.Len() != 0 {
		return fmt.Errorf("partial: %d bytes after the partial", r.Len())
	}
	if p.V != PartialVersion {
		return fmt.Errorf("%w: %d, this build reads %d", ErrPartialVersion, p.V, PartialVersion)
	}
	return p.validate()
}

func (p *Partial) validate() error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("partial %s/%s: %s", p.Stream, p.Partition, fmt.Sprintf(format, args...))
	}
	switch {
	case p.Stream == "" || p.Partition == "":
		return fail("stream and partition must be named")
	case p.End <= p.Start:
		return fail("window [%d, %d) is empty", p.Start, p.End)
	case p.Records < 0 || p.Bytes < 0:
		return fail("negative records (%d) or bytes (%d)", p.Records, p.Bytes)
	case p.Records > 0 && p.Last.Before(p.First):
		return fail("last position %v before first %v", p.Last, p.First)
	}
	for reason, n := range p.Dropped {
		if reason == "" || n < 0 {
			return fail("dropped %q: %d", reason, n)
		}
	}
	for i, op := range p.Ops {
		if op.Name == "" {
			return fail("ops[%d] has no name", i)
		}
		for _, prev := range p.Ops[:i] {
			if prev.Name == op.Name {
				return fail("two states of operator %q", op.Name)
			}
		}
	}
	return nil
}

// Window is the partial's window.
func (p *Partial) Window() Window {
	return Window{Start: time.Unix(0, p.Start).UTC(), End: time.Unix(0, p.End).UTC()}
}

// Source is the partition the partial comes from.
func (p *Partial) Source() Partition { return Partition{Stream: p.Stream, ID: p.Partition} }
