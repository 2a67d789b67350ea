package contrib

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/weirstream/weir/pipeline/sketch"
)

// The serialised state, a msgpack array:
//
//	[version, rule name, counters K, n, sum, min, max, floor,
//	 [key, count, err, key, count, err, …], HLL precision, sparse hashes [] | dense registers (bin)]
//
// Decoding trusts nothing: it checks the version, the rule name and sizing against the
// operator that created the receiving State, and every count against the limits before it
// allocates.
const codecVersion = 1

// EncodeMsgpack implements msgpack.CustomEncoder.
func (s *State) EncodeMsgpack(enc *msgpack.Encoder) error {
	if !s.usable() {
		return errZeroState
	}
	counters := s.ss.Counters()
	steps := []func() error{
		func() error { return enc.EncodeArrayLen(11) },
		func() error { return enc.EncodeUint(codecVersion) },
		func() error { return enc.EncodeString(s.op.rule.Name) },
		func() error { return enc.EncodeUint(uint64(s.ss.K())) },
		func() error { return enc.EncodeFloat64(s.n) },
		func() error { return enc.EncodeFloat64(s.sum) },
		func() error { return enc.EncodeFloat64(s.min) },
		func() error { return enc.EncodeFloat64(s.max) },
		func() error { return enc.EncodeFloat64(s.ss.Floor()) },
		func() error {
			if err := enc.EncodeArrayLen(3 * len(counters)); err != nil {
				return err
			}
			for _, c := range counters {
				if err := enc.EncodeString(c.Key); err != nil {
					return err
				}
				if err := enc.EncodeFloat64(c.Count); err != nil {
					return err
				}
				if err := enc.EncodeFloat64(c.Err); err != nil {
					return err
				}
			}
			return nil
		},
		func() error { return enc.EncodeUint(uint64(s.hll.Precision())) },
		func() error {
			if regs := s.hll.Registers(); regs != nil {
				return enc.EncodeBytes(regs)
			}
			sp := s.hll.Sparse() // sorted, so equal states encode to equal bytes
			if err := enc.EncodeArrayLen(len(sp)); err != nil {
				return err
			}
			for _, x := range sp {
				if err := enc.EncodeUint(x); err != nil {
					return err
				}
			}
			return nil
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// DecodeMsgpack implements msgpack.CustomDecoder. The receiving State must come from the same
// rule's Operator (NewState), which supplies the sizing to check against. It replaces what the
// State held (a State can be decoded into again: the aggregator reuses the states it merged),
// reusing its memory; on error the State is left empty.
func (s *State) DecodeMsgpack(dec *msgpack.Decoder) error {
	if s.op == nil {
		return errors.New("contrib: decode into a State that no Operator created")
	}
	if err := s.decode(dec); err != nil {
		s.Reset()
		return err
	}
	return nil
}

func (s *State) decode(dec *msgpack.Decoder) error {
	fail := func(what string, args ...any) error {
		return fmt.Errorf("rule %q: decoding state: %s", s.op.rule.Name, fmt.Sprintf(what, args...))
	}
	n, err := dec.DecodeArrayLen()
	if err != nil || n != 11 {
		return fail("want an array of 11, have %d (%v)", n, err)
	}
	ver, err := dec.DecodeUint()
	if err != nil || ver != codecVersion {
		return fail("version %d (%v)", ver, err)
	}
	name, err := dec.DecodeString()
	if err != nil || name != s.op.rule.Name {
		return fail("state of rule %q (%v)", name, err)
	}
	k, err := dec.DecodeUint()
	if err != nil || k != uint(s.op.counters) {
		return fail("%d counters, this rule has %d (%v)", k, s.op.counters, err)
	}
	var nums [5]float64
	for i := range nums {
		if nums[i], err = dec.DecodeFloat64(); err != nil {
			return fail("%v", err)
		}
		if math.IsNaN(nums[i]) {
			return fail("NaN")
		}
	}
	cn, err := dec.DecodeArrayLen()
	if err != nil || cn < 0 || cn%3 != 0 || cn/3 > s.op.counters {
		return fail("counter list of %d (%v)", cn, err)
	}
	// The keys are read into one buffer of the State's, not a string each: the sketch copies
	// them into its own arena.
	sc := &s.dec
	sc.keys, sc.ends, sc.entries = sc.keys[:0], sc.ends[:0], sc.entries[:0]
	for range cn / 3 {
		kn, err := dec.DecodeBytesLen() // a str (or bin: the library's DecodeString took both)
		if err != nil {
			return fail("%v", err)
		}
		kn = max(kn, 0) // nil, read as ""
		if kn > MaxKeys*(MaxKeyValueBytes+2) {
			return fail("malformed contributor key")
		}
		at := len(sc.keys)
		sc.keys = slices.Grow(sc.keys, kn)[:at+kn]
		key := sc.keys[at:]
		if kn > 0 {
			if err := dec.ReadFull(key); err != nil {
				return fail("%v", err)
			}
		}
		if !validKey(key) {
			return fail("malformed contributor key")
		}
		var e sketch.Entry
		if e.Count, err = dec.DecodeFloat64(); err != nil {
			return fail("%v", err)
		}
		if e.Err, err = dec.DecodeFloat64(); err != nil {
			return fail("%v", err)
		}
		sc.ends = append(sc.ends, len(sc.keys))
		sc.entries = append(sc.entries, e)
	}
	// Sliced once every key is read: the buffer may have moved as it grew.
	at := 0
	for i, end := range sc.ends {
		sc.entries[i].Key = sc.keys[at:end:end]
		at = end
	}
	if !s.ss.RestoreEntries(sc.entries, nums[4]) {
		return fail("invalid counters")
	}
	p, err := dec.DecodeUint()
	if err != nil || p != uint(s.op.opts.HLLPrecision) || p != uint(s.hll.Precision()) {
		return fail("distinct counter precision %d, this rule has %d (%v)", p, s.op.opts.HLLPrecision, err)
	}
	code, err := dec.PeekCode()
	if err != nil {
		return fail("%v", err)
	}
	if isBin(code) {
		rn, err := dec.DecodeBytesLen()
		if err != nil || rn != 1<<p {
			return fail("invalid registers (%d bytes, %v)", rn, err)
		}
		sc.regs = slices.Grow(sc.regs[:0], rn)[:rn]
		if err := dec.ReadFull(sc.regs); err != nil || !s.hll.RestoreDense(sc.regs) {
			return fail("invalid registers (%v)", err)
		}
	} else {
		hn, err := dec.DecodeArrayLen()
		if err != nil || hn < 0 || hn > s.hll.SparseLimit() {
			return fail("exact set of %d (%v)", hn, err)
		}
		sc.hashes = slices.Grow(sc.hashes[:0], hn)[:hn]
		for i := range sc.hashes {
			if sc.hashes[i], err = dec.DecodeUint64(); err != nil {
				return fail("%v", err)
			}
		}
		if !s.hll.RestoreSparse(sc.hashes) {
			return fail("invalid exact set")
		}
	}
	s.n, s.sum, s.min, s.max = nums[0], nums[1], nums[2], nums[3]
	if s.n < 0 {
		return fail("negative sample count")
	}
	return nil
}

// decodeScratch is what DecodeMsgpack reads into before the sketches copy it, kept by the
// State for its next decode.
type decodeScratch struct {
	keys    []byte
	ends    []int
	entries []sketch.Entry
	regs    []byte
	hashes  []uint64
}

func isBin(code byte) bool { return code == 0xc4 || code == 0xc5 || code == 0xc6 }
