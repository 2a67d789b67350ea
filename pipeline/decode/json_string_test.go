package decode

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"math/rand/v2"
	"testing"
)

// refJString is jstring's byte-at-a-time form before the SWAR scan: the reference the fast
// path must agree with.
func refJString(b []byte, i int) (end int, esc bool, errOff int) {
	j := i + 1
	for j < len(b) {
		for j < len(b) && !strSpecial[b[j]] {
			j++
		}
		if j >= len(b) {
			break
		}
		c := b[j]
		switch {
		case c == '"':
			return j + 1, esc, -1
		case c == '\\':
			esc = true
			if j+1 >= len(b) {
				return j, esc, j
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(b) || !isHex4(b[j+2:j+6]) {
					return j, esc, j
				}
				j += 6
			default:
				return j, esc, j
			}
		case c < 0x20:
			return j, esc, j
		default:
			j++
		}
	}
	return j, esc, i
}

func checkJString(t *testing.T, d *Decoder, b []byte, i int) {
	t.Helper()
	end, esc, err := d.jstring(b, i)
	wend, wesc, woff := refJString(b, i)
	off := -1
	if err != nil {
		off = err.(*syntaxError).off
	}
	if end != wend || esc != wesc || off != woff {
		t.Fatalf("jstring(%q, %d) = %d %v err@%d, want %d %v err@%d", b, i, end, esc, off, wend, wesc, woff)
	}
}

func TestSpecial8(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var w [8]byte
	for range 500000 {
		for k := range w {
			// Mostly plain bytes, with every special byte and the values around the thresholds.
			switch r.IntN(4) {
			case 0:
				w[k] = byte(r.IntN(256))
			case 1:
				w[k] = []byte{'"', '\\', 0, 0x1f, 0x20, 0x21, 0x01, 0x5b, 0x5d, 0x22 ^ 0x80, 0x7f, 0x80, 0xff}[r.IntN(13)]
			default:
				w[k] = byte('a' + r.IntN(26))
			}
		}
		first := 8
		for k, c := range w {
			if strSpecial[c] {
				first = k
				break
			}
		}
		m := special8(binary.LittleEndian.Uint64(w[:]))
		if got := bits.TrailingZeros64(m) >> 3; got != first {
			t.Fatalf("%q: first special byte at %d, special8 says %d (mask %#x)", w, first, got, m)
		}
	}
	for c := range 256 {
		for k := range 8 {
			w = [8]byte{'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a'}
			w[k] = byte(c)
			got := bits.TrailingZeros64(special8(binary.LittleEndian.Uint64(w[:]))) >> 3
			if want := map[bool]int{true: k, false: 8}[strSpecial[c]]; got != want {
				t.Fatalf("byte %#x at %d: special8 says %d, want %d", c, k, got, want)
			}
		}
	}
}

// TestJStringOffsets puts each kind of special content at every offset (so every position
// within an 8-byte word and the byte-loop tail), in buffers that end right after the string,
// continue past it, or end in the middle of it.
func TestJStringOffsets(t *testing.T) {
	d := &Decoder{}
	specials := []string{`"`, `\n`, `\"`, `\\`, `\u00e9`, `\ud83d\ude00`, "\x00", "\x01", "\x1f", "\x7f", "\x80", "\xff", " ",
		`\x`, `\u12`, `\u12g4`, `\`}
	for _, sp := range specials {
		for pre := range 20 { // leading bytes before the quote: the string's alignment
			for pos := range 20 {
				buf := make([]byte, 0, 64)
				for range pre {
					buf = append(buf, '[')
				}
				buf = append(buf, '"')
				for k := range pos {
					buf = append(buf, byte('a'+k%26))
				}
				buf = append(buf, sp...)
				buf = append(buf, "tail"...)
				buf = append(buf, `","x":1}`...)
				for n := pre + 1; n <= len(buf); n++ { // every truncation
					checkJString(t, d, buf[:n], pre)
				}
			}
		}
	}
}

// TestDecodeStringOffsets runs the same strings through Decode, where jvalue and jobject settle
// plain strings inline before calling jstring: as a member name and as a planned value, whole
// and truncated at every byte.
func TestDecodeStringOffsets(t *testing.T) {
	_, d, out := plan(t, JSON, "$.a")
	specials := []string{`\n`, `\"`, `\u00e9`, "\x01", "\x1f", "\x7f", "\xc3\xa9", " ", `\x`, `\u12g4`}
	for _, sp := range specials {
		for pos := range 20 {
			str := make([]byte, 0, 40)
			for k := range pos {
				str = append(str, byte('a'+k%26))
			}
			str = append(append(str, sp...), "tail"...)
			doc := []byte(`{"` + string(str) + `":0,"a":"` + string(str) + `"}`)
			var ref map[string]any
			refErr := json.Unmarshal(doc, &ref)
			err := d.Decode(doc, out)
			if (err == nil) != (refErr == nil) {
				t.Fatalf("%q: Decode error %v, encoding/json error %v", doc, err, refErr)
			}
			if err == nil && (out[0].Kind != String || string(out[0].Bytes) != ref["a"]) {
				t.Fatalf("%q: $.a = %v %q, want %q", doc, out[0].Kind, out[0].Bytes, ref["a"])
			}
			for n := range len(doc) - 1 { // truncated before the final '}'
				if err := d.Decode(doc[:n], out); err == nil {
					t.Fatalf("%q accepted", doc[:n])
				}
			}
		}
	}
}

func TestJStringRandom(t *testing.T) {
	d := &Decoder{}
	r := rand.New(rand.NewPCG(5, 6))
	alphabet := []byte("abc \"\\/unt0\x00\x1f\x7f\xc3\xa9")
	buf := make([]byte, 0, 64)
	for range 300000 {
		buf = append(buf[:0], '"')
		for range r.IntN(40) {
			buf = append(buf, alphabet[r.IntN(len(alphabet))])
		}
		checkJString(t, d, buf, 0)
	}
}

// runtimeStrings are the offsets of the strings (names and values) in runtimeLog.
func runtimeStrings() (b []byte, starts []int) {
	b = []byte(runtimeLog)
	for i := 0; i < len(b); i++ {
		if b[i] == '"' {
			starts = append(starts, i)
			end, _, _ := refJString(b, i)
			i = end - 1
		}
	}
	return b, starts
}

func BenchmarkJString(b *testing.B) {
	buf, starts := runtimeStrings()
	d := &Decoder{}
	b.Run("swar", func(b *testing.B) {
		for b.Loop() {
			for _, i := range starts {
				if _, _, err := d.jstring(buf, i); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("inline", func(b *testing.B) {
		for b.Loop() {
			for _, i := range starts {
				if j := plainRun(buf, i+1); j >= 0 && buf[j] == '"' {
					continue
				}
				if _, _, err := d.jstring(buf, i); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("bytewise", func(b *testing.B) {
		for b.Loop() {
			for _, i := range starts {
				if _, _, off := refJString(buf, i); off >= 0 {
					b.Fatal(off)
				}
			}
		}
	})
}
