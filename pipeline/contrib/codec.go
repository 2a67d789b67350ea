package contrib

import (
	"errors"
	"fmt"
	"math"

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
// rule's Operator (NewState), which supplies the sizing to check against.
func (s *State) DecodeMsgpack(dec *msgpack.Decoder) error {
	if s.op == nil {
		return errors.New("contrib: decode into a State that no Operator created")
	}
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
	counters := make([]sketch.Counter, cn/3)
	for i := range counters {
		c := &counters[i]
		if c.Key, err = dec.DecodeString(); err != nil {
			return fail("%v", err)
		}
		if _, ok := splitKey(c.Key); !ok || len(c.Key) > MaxKeys*(MaxKeyValueBytes+2) {
			return fail("malformed contributor key")
		}
		if c.Count, err = dec.DecodeFloat64(); err != nil {
			return fail("%v", err)
		}
		if c.Err, err = dec.DecodeFloat64(); err != nil {
			return fail("%v", err)
		}
	}
	ss := sketch.NewSpaceSaving(s.op.counters)
	if !ss.Restore(counters, nums[4]) {
		return fail("invalid counters")
	}
	p, err := dec.DecodeUint()
	if err != nil || p != uint(s.op.opts.HLLPrecision) {
		return fail("distinct counter precision %d, this rule has %d (%v)", p, s.op.opts.HLLPrecision, err)
	}
	hll := sketch.NewHLL(int(p))
	code, err := dec.PeekCode()
	if err != nil {
		return fail("%v", err)
	}
	if isBin(code) {
		regs, err := dec.DecodeBytes()
		if err != nil || !hll.RestoreDense(regs) {
			return fail("invalid registers (%v)", err)
		}
	} else {
		hn, err := dec.DecodeArrayLen()
		if err != nil || hn < 0 || hn > hll.SparseLimit() {
			return fail("exact set of %d (%v)", hn, err)
		}
		hashes := make([]uint64, hn)
		for i := range hashes {
			if hashes[i], err = dec.DecodeUint64(); err != nil {
				return fail("%v", err)
			}
		}
		if !hll.RestoreSparse(hashes) {
			return fail("invalid exact set")
		}
	}
	s.n, s.sum, s.min, s.max = nums[0], nums[1], nums[2], nums[3]
	if s.n < 0 {
		return fail("negative sample count")
	}
	s.ss, s.hll = ss, hll
	return nil
}

func isBin(code byte) bool { return code == 0xc4 || code == 0xc5 || code == 0xc6 }
