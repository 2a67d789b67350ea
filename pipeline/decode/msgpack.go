package decode

import "encoding/binary"

// The msgpack scanner walks the same planned-path trie over msgpack maps and arrays, by hand
// (no reflection, no allocation). Map keys that are strings match path members; maps with
// other key types are legal and their entries simply never match. Values map to Kinds as
// follows: nil → Null; bool → Bool ("true"/"false"); int, uint and float → Number (Bytes is the
// number formatted by the decoder: integers exactly, floats in the shortest form that reads
// back, plain decimal for exponents in [-6, 21) as JSON writers do); str and bin → String (the
// bytes as they are); map → Object and array → Array (the raw msgpack bytes); the timestamp
// extension (type −1) → Number, Unix epoch seconds exact to the nanosecond (see
// msgpack_time.go); any other ext → String holding the ext's data bytes.

var (
	litTrue  = []byte("true")
	litFalse = []byte("false")
	litNull  = []byte("null")
)

func (d *Decoder) decodeMsgpack(b []byte) error {
	if d.plan.n == 0 {
		return nil
	}
	// Each field is set at most once, so numbers need at most maxNumberText bytes per field.
	d.reserve(d.plan.n * maxNumberText)
	if len(b) == 0 {
		return d.merr(0, "empty document")
	}
	end, err := d.mvalue(b, 0, d.plan.root, 0)
	if err != nil {
		return err
	}
	if end != len(b) {
		return d.merr(end, "data after the document")
	}
	return nil
}

func (d *Decoder) merr(off int, msg string) error {
	return d.syntaxErr(Msgpack, off, msg)
}

// mhead reads the header of the value at b[i]: its type, the offset where its payload starts
// and, for str/bin/ext, the payload length; for maps and arrays, the element count.
type mtype uint8

const (
	mNil mtype = iota
	mBool
	mInt
	mUint
	mFloat32
	mFloat64
	mStr
	mBin
	mExt
	mArray
	mMap
)

type mhdr struct {
	t     mtype
	start int    // first byte after the header
	n     int    // payload length (str, bin, ext data) or element count (array, map)
	u     uint64 // integer value, or bool 0/1, for mInt/mUint/mBool
}

func (d *Decoder) mhead(b []byte, i int) (mhdr, error) {
	if i >= len(b) {
		return mhdr{}, d.merr(i, "unexpected end of input")
	}
	c := b[i]
	need := func(k int) bool { return i+1+k <= len(b) }
	short := func() (mhdr, error) { return mhdr{}, d.merr(i, "truncated value") }
	switch {
	case c <= 0x7f:
		return mhdr{t: mInt, start: i + 1, u: uint64(c)}, nil
	case c <= 0x8f:
		return mhdr{t: mMap, start: i + 1, n: int(c & 0x0f)}, nil
	case c <= 0x9f:
		return mhdr{t: mArray, start: i + 1, n: int(c & 0x0f)}, nil
	case c <= 0xbf:
		return mhdr{t: mStr, start: i + 1, n: int(c & 0x1f)}, nil
	case c >= 0xe0:
		return mhdr{t: mInt, start: i + 1, u: uint64(int64(int8(c)))}, nil
	}
	switch c {
	case 0xc0:
		return mhdr{t: mNil, start: i + 1}, nil
	case 0xc2, 0xc3:
		return mhdr{t: mBool, start: i + 1, u: uint64(c & 1)}, nil
	case 0xc4, 0xc5, 0xc6, 0xd9, 0xda, 0xdb: // bin8/16/32, str8/16/32
		t := mBin
		w := 1 << (c - 0xc4) // 1, 2, 4
		if c >= 0xd9 {
			t, w = mStr, 1<<(c-0xd9)
		}
		if !need(w) {
			return short()
		}
		return mhdr{t: t, start: i + 1 + w, n: int(beUint(b[i+1:], w))}, nil
	case 0xc7, 0xc8, 0xc9: // ext8/16/32: length, type, data
		w := 1 << (c - 0xc7)
		if !need(w + 1) {
			return short()
		}
		return mhdr{t: mExt, start: i + 2 + w, n: int(beUint(b[i+1:], w))}, nil
	case 0xca:
		if !need(4) {
			return short()
		}
		return mhdr{t: mFloat32, start: i + 5, u: uint64(binary.BigEndian.Uint32(b[i+1:]))}, nil
	case 0xcb:
		if !need(8) {
			return short()
		}
		return mhdr{t: mFloat64, start: i + 9, u: binary.BigEndian.Uint64(b[i+1:])}, nil
	case 0xcc, 0xcd, 0xce, 0xcf:
		w := 1 << (c - 0xcc)
		if !need(w) {
			return short()
		}
		return mhdr{t: mUint, start: i + 1 + w, u: beUint(b[i+1:], w)}, nil
	case 0xd0, 0xd1, 0xd2, 0xd3:
		w := 1 << (c - 0xd0)
		if !need(w) {
			return short()
		}
		u := beUint(b[i+1:], w)
		shift := 64 - 8*uint(w)
		return mhdr{t: mInt, start: i + 1 + w, u: uint64(int64(u<<shift) >> shift)}, nil
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1/2/4/8/16: type, data
		if !need(1) {
			return short()
		}
		return mhdr{t: mExt, start: i + 2, n: 1 << (c - 0xd4)}, nil
	case 0xdc, 0xdd, 0xde, 0xdf: // array16/32, map16/32
		t := mArray
		if c >= 0xde {
			t = mMap
		}
		w := 2 << ((c - 0xdc) & 1)
		if !need(w) {
			return short()
		}
		return mhdr{t: t, start: i + 1 + w, n: int(beUint(b[i+1:], w))}, nil
	}
	return mhdr{}, d.merr(i, "invalid type byte 0xc1")
}

func beUint(b []byte, w int) uint64 {
	switch w {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(binary.BigEndian.Uint16(b))
	case 4:
		return uint64(binary.BigEndian.Uint32(b))
	}
	return binary.BigEndian.Uint64(b)
}

// mvalue scans the value at b[i], capturing and descending as n asks, and returns its end.
//
// A captured value is written field by field into its out slot (which Decode cleared), never
// built in a local Value and copied: the copy would reload the fields with wider moves than
// stored them, a store-forwarding stall on the hottest path of the decode.
func (d *Decoder) mvalue(b []byte, i int, n *node, depth int) (int, error) {
	// A fixstr is the most common value in records (and what most planned fields hold):
	// settled here without decoding a header. Same result, and same error, as below.
	if i < len(b) && b[i]&0xe0 == 0xa0 {
		end := i + 1 + int(b[i]&0x1f)
		if end > len(b) {
			return i, d.merr(i, "truncated string")
		}
		if n != nil && n.field >= 0 && d.out[n.field].Kind == Missing {
			o := &d.out[n.field]
			o.Kind, o.Bytes = String, b[i+1:end]
			if d.found++; d.found == len(d.out) {
				return end, errDone
			}
		}
		return end, nil
	}
	if n == nil {
		if end, ok := mskipScalar(b, i); ok {
			return end, nil
		}
	}
	h, err := d.mhead(b, i)
	if err != nil {
		return i, err
	}
	var o *Value
	if n != nil && n.field >= 0 && d.out[n.field].Kind == Missing {
		o = &d.out[n.field]
	}
	end := h.start
	switch h.t {
	case mStr, mBin, mExt:
		if h.n > len(b)-h.start {
			return i, d.merr(i, "truncated string")
		}
		end = h.start + h.n
		if o == nil {
			return end, nil
		}
		o.Kind, o.Bytes = String, b[h.start:end]
		if h.t == mExt && b[h.start-1] == extTimestamp { // the type byte precedes the data
			if sec, nsec, ok := mtimestamp(b[h.start:end]); ok {
				d.mtime(sec, nsec, o)
			}
		}
	case mMap, mArray:
		if end, err = d.mcontainer(b, h, n, depth+1); err != nil {
			return end, err
		}
		if o == nil {
			return end, nil
		}
		o.Kind, o.Bytes = Object, b[i:end]
		if h.t == mArray {
			o.Kind = Array
		}
	case mNil:
		if o == nil {
			return end, nil
		}
		o.Kind, o.Bytes = Null, litNull
	case mBool:
		if o == nil {
			return end, nil
		}
		o.Kind, o.Bytes = Bool, litFalse
		if h.u == 1 {
			o.Bytes, o.Num = litTrue, 1
		}
	default:
		if o == nil {
			return end, nil
		}
		d.mnumber(h, o)
	}
	if d.found++; d.found == len(d.out) {
		return end, errDone
	}
	return end, nil
}

// mskipScalar returns the end of the scalar at b[i] for the common fixed-size and short-string
// types; ok is false for anything else (containers, long strings, ext, malformed input), which
// the general path handles.
func mskipScalar(b []byte, i int) (end int, ok bool) {
	if i >= len(b) {
		return 0, false
	}
	c := b[i]
	switch {
	case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
		end = i + 1
	case c&0xe0 == 0xa0:
		end = i + 1 + int(c&0x1f)
	case c == 0xcc || c == 0xd0:
		end = i + 2
	case c == 0xcd || c == 0xd1:
		end = i + 3
	case c == 0xca || c == 0xce || c == 0xd2:
		end = i + 5
	case c == 0xcb || c == 0xcf || c == 0xd3:
		end = i + 9
	case c == 0xd9:
		if i+1 >= len(b) {
			return 0, false
		}
		end = i + 2 + int(b[i+1])
	default:
		return 0, false
	}
	return end, end <= len(b)
}

func (d *Decoder) mcontainer(b []byte, h mhdr, n *node, depth int) (int, error) {
	if depth > MaxDepth {
		return h.start, d.merr(h.start, "nesting too deep")
	}
	items := h.n
	if h.t == mMap {
		items *= 2
	}
	// Every item takes at least one byte: a count beyond the input is a lie, caught before
	// looping over it.
	if items < 0 || items > len(b)-h.start {
		return h.start, d.merr(h.start, "container count exceeds the input")
	}
	i := h.start
	var err error
	if h.t == mArray {
		for k := 0; k < h.n; k++ {
			var child *node
			if n != nil && len(n.elems) > 0 {
				child = n.elem(k)
			}
			if i, err = d.mvalue(b, i, child, depth); err != nil {
				return i, err
			}
		}
		return i, nil
	}
	guesses := d.guesses(n)
	for k := 0; k < h.n; k++ {
		var child *node
		switch {
		case k < len(guesses) && guesses[k].matches(b, i):
			// The fixstr key of the last map at this position: header and name are the
			// guess's spelling.
			child, i = guesses[k].child, i+guesses[k].n
		case i < len(b) && b[i]&0xe0 == 0xa0: // fixstr key, the common case
			kl := int(b[i] & 0x1f)
			if kl > len(b)-i-1 {
				return i, d.merr(i, "truncated string")
			}
			if n != nil && len(n.members) > 0 {
				child = n.member(b[i+1 : i+1+kl])
				d.learn(n, k, b[i:i+1+kl], child)
				guesses = d.guess[n.id]
			}
			i += 1 + kl
		default:
			kh, err := d.mhead(b, i)
			if err != nil {
				return i, err
			}
			if kh.t == mStr {
				if kh.n > len(b)-kh.start {
					return i, d.merr(i, "truncated string")
				}
				if n != nil && len(n.members) > 0 {
					child = n.member(b[kh.start : kh.start+kh.n])
				}
				i = kh.start + kh.n
			} else if i, err = d.mvalue(b, i, nil, depth); err != nil {
				return i, err
			}
		}
		// mvalue's fixstr case, repeated here to save a call per member.
		if i < len(b) && b[i]&0xe0 == 0xa0 {
			end := i + 1 + int(b[i]&0x1f)
			if end > len(b) {
				return i, d.merr(i, "truncated string")
			}
			if child != nil && child.field >= 0 && d.out[child.field].Kind == Missing {
				o := &d.out[child.field]
				o.Kind, o.Bytes = String, b[i+1:end]
				if d.found++; d.found == len(d.out) {
					return end, errDone
				}
			}
			i = end
			continue
		}
		if i, err = d.mvalue(b, i, child, depth); err != nil {
			return i, err
		}
	}
	return i, nil
}
