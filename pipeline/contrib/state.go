package contrib

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/pipeline/sketch"
)

// State is one rule's state for one window.
//
// Which events count (weir's reading of the rule-syntax page):
//   - every filter must match (AND; see Filter for each operator);
//   - every key must resolve to a string, number or boolean; an event whose key is missing,
//     null, an object or an array is skipped, as CloudWatch skips events without the keys;
//   - for Sum with ValueOf, the value must be numeric (a number, or a string holding one):
//     an event whose ValueOf is missing or not numeric is skipped rather than counted as 0;
//   - Count counts each event as 1, and so does Sum without ValueOf (the documented "Rejected
//     TCP connections" example is such a rule).
//
// A contributor is the combination of its key values, each truncated to MaxKeyValueBytes.
type State struct {
	op  *Operator
	ss  *sketch.SpaceSaving
	hll *sketch.HLL
	// The exact rule metrics over the events that counted.
	n, sum, min, max float64
	// buf holds the contributor key being built: each key value as uvarint length + bytes.
	buf []byte
	// dec is DecodeMsgpack's buffers.
	dec decodeScratch
}

// Reset empties the state, keeping its memory, as if NewState had just made it. The
// aggregator resets the states it has merged and decodes later partials into them: Merge
// copies what it keeps of the other state, so a merged-in state shares nothing with the
// result.
func (s *State) Reset() {
	if !s.usable() {
		return
	}
	s.ss.Reset()
	s.hll.Reset()
	s.n, s.sum, s.min, s.max = 0, 0, 0, 0
}

// Observe implements pipeline.State.
func (s *State) Observe(_ *pipeline.Record, fields []decode.Value) {
	o := s.op
	for i := range o.filters {
		if !o.filters[i].match(&fields[o.fidx[i]]) {
			return
		}
	}
	w := 1.0
	if o.value >= 0 {
		v := &fields[o.value]
		x, ok := v.Num, v.Kind == decode.Number
		if !ok {
			x, ok = v.Float() // a string holding a number
		}
		if !ok || math.IsNaN(x) || math.IsInf(x, 0) {
			return
		}
		w = x
	}
	buf := s.buf[:0]
	for _, k := range o.keys {
		t, ok := keyText(&fields[k])
		if !ok {
			return
		}
		buf = binary.AppendUvarint(buf, uint64(len(t)))
		buf = append(buf, t...)
	}
	s.buf = buf
	// One hash serves both sketches: Space-Saving's index and the distinct counter. A key the
	// Space-Saving sketch tracks is in the distinct counter already (it was added when it
	// arrived, or merged or restored with the counter that had it), and adding it again would
	// change nothing: only keys it did not track are added.
	h := sketch.HashKey(buf)
	if !s.ss.AddHashed(buf, h, w) {
		s.hll.Add(h)
	}
	if s.n == 0 || w < s.min {
		s.min = w
	}
	if s.n == 0 || w > s.max {
		s.max = w
	}
	s.n++
	s.sum += w
}

// keyText is the text of a key value, truncated to MaxKeyValueBytes at a rune boundary.
func keyText(v *decode.Value) ([]byte, bool) {
	switch v.Kind {
	case decode.String, decode.Number, decode.Bool:
	default:
		return nil, false
	}
	t := v.Bytes
	if len(t) > MaxKeyValueBytes {
		cut := MaxKeyValueBytes
		for cut > MaxKeyValueBytes-utf8.UTFMax && !utf8.RuneStart(t[cut]) {
			cut--
		}
		t = t[:cut]
	}
	return t, true
}

// validKey reports whether k is a contributor key as Observe builds them (splitKey would
// accept it), without splitting it.
func validKey(k []byte) bool {
	for len(k) > 0 {
		n, w := binary.Uvarint(k)
		if w <= 0 || n > uint64(len(k)-w) {
			return false
		}
		k = k[w+int(n):]
	}
	return true
}

// splitKey decodes a contributor key built by Observe into its key values.
func splitKey(k string) ([]string, bool) {
	var out []string
	for len(k) > 0 {
		n, w := binary.Uvarint([]byte(k[:min(len(k), binary.MaxVarintLen64)]))
		if w <= 0 || n > uint64(len(k)-w) {
			return nil, false
		}
		out = append(out, k[w:w+int(n)])
		k = k[w+int(n):]
	}
	return out, true
}

// errZeroState: msgpack decodes a nil into a zero State without calling DecodeMsgpack; such a
// State has no operator and must be refused rather than dereferenced.
var errZeroState = errors.New("contrib: state not created by an Operator (decoded from nil?)")

func (s *State) usable() bool { return s != nil && s.op != nil && s.ss != nil && s.hll != nil }

// Merge implements pipeline.State.
func (s *State) Merge(other pipeline.State) error {
	o, ok := other.(*State)
	if !s.usable() || ok && !o.usable() {
		return errZeroState
	}
	if !ok {
		return fmt.Errorf("rule %q: cannot merge %T", s.op.rule.Name, other)
	}
	if o.op.rule.Name != s.op.rule.Name || o.ss.K() != s.ss.K() {
		return fmt.Errorf("rule %q: cannot merge the state of rule %q (or other sizing)", s.op.rule.Name, o.op.rule.Name)
	}
	if !s.hll.Merge(o.hll) {
		return fmt.Errorf("rule %q: distinct counters of different precision", s.op.rule.Name)
	}
	s.ss.Merge(o.ss)
	if o.n > 0 {
		if s.n == 0 || o.min < s.min {
			s.min = o.min
		}
		if s.n == 0 || o.max > s.max {
			s.max = o.max
		}
		s.n += o.n
		s.sum += o.sum
	}
	return nil
}

// MemoryBytes estimates the state's memory: counters (slot, heap entry and hash-index
// cells), key bytes and the distinct counter.
func (s *State) MemoryBytes() int {
	const perCounter = 48 /* slot: key header, hash, err, heap position */ + 16 /* heap entry */ + 16 /* two index cells */
	total := 128 + s.hll.Bytes()
	for _, c := range s.ss.Counters() {
		total += perCounter + len(c.Key)
	}
	return total
}
