package decode

import (
	"encoding/binary"
	"strings"
	"testing"
)

// mpStr encodes s with the given msgpack str header (0xa0 for fixstr, 0xd9, 0xda or 0xdb).
func mpStr(c byte, s string) []byte {
	switch c {
	case 0xa0:
		return append([]byte{0xa0 | byte(len(s))}, s...)
	case 0xd9:
		return append([]byte{c, byte(len(s))}, s...)
	case 0xda:
		return append(binary.BigEndian.AppendUint16([]byte{c}, uint16(len(s))), s...)
	}
	return append(binary.BigEndian.AppendUint32([]byte{c}, uint32(len(s))), s...)
}

// mpMap encodes a map header for n entries with the given header (0x80 for fixmap, 0xde, 0xdf).
func mpMap(c byte, n int) []byte {
	switch c {
	case 0x80:
		return []byte{0x80 | byte(n)}
	case 0xde:
		return binary.BigEndian.AppendUint16([]byte{c}, uint16(n))
	}
	return binary.BigEndian.AppendUint32([]byte{c}, uint32(n))
}

// TestDecodeMsgpackStrWidths decodes keys and values at the boundaries of every str width, in
// maps with every header width: the same fields whichever encoding a writer picked.
func TestDecodeMsgpackStrWidths(t *testing.T) {
	_, d, out := plan(t, Msgpack, "$.k", "$.long_key_name_over_8", "$.x")
	for _, mc := range []byte{0x80, 0xde, 0xdf} {
		for _, c := range []byte{0xa0, 0xd9, 0xda, 0xdb} {
			lens := []int{0, 1, 7, 8, 31}
			switch c {
			case 0xd9:
				lens = []int{0, 31, 32, 255}
			case 0xda:
				lens = []int{0, 256, 65535}
			case 0xdb:
				lens = []int{0, 65536}
			}
			for _, l := range lens {
				val := strings.Repeat("v", l)
				doc := mpMap(mc, 3)
				doc = append(doc, mpStr(c, "k")...)
				doc = append(doc, mpStr(c, val)...)
				doc = append(doc, mpStr(c, "long_key_name_over_8")...)
				doc = append(doc, mpStr(0xd9, "two")...)
				doc = append(doc, mpStr(c, "skipped")...)
				doc = append(doc, mpStr(c, val)...)
				if err := d.Decode(doc, out); err != nil {
					t.Fatalf("map 0x%x str 0x%x len %d: %v", mc, c, l, err)
				}
				check(t, "widths", out, []want{s(val), s("two"), m()})
				for j := range doc {
					if err := d.Decode(doc[:j], out); err == nil {
						t.Fatalf("map 0x%x str 0x%x len %d: truncated at %d accepted", mc, c, l, j)
					}
				}
			}
		}
	}
}

// TestDecodeMsgpackTruncated decodes every prefix of records that hold each value type: each
// must be an error (a field is never found, so the scan must reach the end), and no prefix may
// panic. With the full plan the prefixes that still hold every field decode.
func TestDecodeMsgpackTruncated(t *testing.T) {
	type kv = map[string]any
	docs := [][]byte{
		runtimeMsgpack(t),
		accessLogMsgpack(t),
		mp(t, kv{"a": kv{"b": []any{1, -1, 200, -200, 70000, -70000, 1 << 40, -1 << 40, uint64(1 << 63)}}}),
		mp(t, kv{"a": []any{12.5, float32(0.25), nil, true, false, []byte("bin"), strings.Repeat("s", 40)}}),
		mp(t, kv{"k k": []any{}, "a": kv{}, "b": kv{"c": "x"}}),
	}
	ext := []byte{0x82, 0xa1, 'a', 0xd4, 1, 2, 0xa1, 'b', 0xc7, 2, 1, 'x', 'y'}
	docs = append(docs, ext)
	_, d, out := plan(t, Msgpack, append([]string{"$.nope"}, runtimeFields...)...)
	_, dall, outall := plan(t, Msgpack, runtimeFields...)
	for _, doc := range docs {
		if err := d.Decode(doc, out); err != nil {
			t.Fatalf("% x: %v", doc, err)
		}
		// Copies: number text lives in the decoder's scratch, which the next Decode reuses.
		kinds, texts := make([]Kind, len(out)), make([]string, len(out))
		for f, v := range out {
			kinds[f], texts[f] = v.Kind, string(v.Bytes)
		}
		for j := range doc {
			if err := d.Decode(doc[:j], out); err == nil {
				t.Fatalf("% x truncated at %d accepted", doc, j)
			}
			if err := dall.Decode(doc[:j], outall); err == nil {
				for f, v := range outall {
					if v.Kind != kinds[f+1] || string(v.Bytes) != texts[f+1] {
						t.Fatalf("% x truncated at %d: field %d %v %q, want %v %q", doc, j, f, v.Kind, v.Bytes, kinds[f+1], texts[f+1])
					}
				}
			}
		}
	}
}
