package decode

import (
	"strconv"
	"unicode/utf8"
)

// The JSON scanner makes one pass over the document. It descends only into the members and
// elements on a planned path (following the Plan's trie), skips everything else while checking
// its syntax, builds no maps and does not allocate: strings without escapes are sliced from the
// payload, strings with escapes are unescaped into the Decoder's scratch (an unescaped string
// is never longer than its escaped form, so reserving len(payload) up front is enough).
//
// Not checked: that strings are valid UTF-8 (bytes pass through as they are).

func (d *Decoder) decodeJSON(b []byte) error {
	if d.plan.n == 0 {
		return nil
	}
	d.reserve(len(b))
	i := skipWS(b, 0)
	if i == len(b) {
		return d.jerr(i, "empty document")
	}
	end, err := d.jvalue(b, i, d.plan.root, 0)
	if err != nil {
		return err
	}
	if i = skipWS(b, end); i != len(b) {
		return d.jerr(i, "data after the document")
	}
	return nil
}

func (d *Decoder) jerr(off int, msg string) error {
	return d.syntaxErr(JSON, off, msg)
}

// skipWS returns the offset of the first non-whitespace byte at or after i. Machine-written
// documents rarely have whitespace between tokens, so the first test (inlined into the callers)
// usually settles it.
func skipWS(b []byte, i int) int {
	if i < len(b) && b[i] > ' ' {
		return i
	}
	return skipWSSlow(b, i)
}

func skipWSSlow(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// jvalue scans the value starting at b[i] (not whitespace), capturing it and descending as n
// (nil: nothing planned below) asks, and returns the offset just past it.
//
// A captured value is written field by field into its out slot (which Decode cleared), never
// built in a local Value and copied through set, as in mvalue (the copy reloads the fields with
// wider moves than stored them; the JSON scan hides most of that stall, but the two scanners
// stay alike). jobject settles the commonest members, plain strings and numbers, without
// calling jvalue.
func (d *Decoder) jvalue(b []byte, i int, n *node, depth int) (int, error) {
	if i >= len(b) {
		return i, d.jerr(i, "unexpected end of input")
	}
	// o is the slot to fill, nil when nothing is captured here or the field already has its
	// value (a duplicate: the first value stays).
	var o *Value
	if n != nil && n.field >= 0 && d.out[n.field].Kind == Missing {
		o = &d.out[n.field]
	}
	end := i
	switch c := b[i]; {
	case c == '{', c == '[':
		var err error
		if c == '{' {
			end, err = d.jobject(b, i, n, depth+1)
		} else {
			end, err = d.jarray(b, i, n, depth+1)
		}
		if err != nil || o == nil {
			return end, err
		}
		o.Kind, o.Bytes = Object, b[i:end]
		if c == '[' {
			o.Kind = Array
		}
	case c == '"':
		// plainRun settles most strings inline (see jstring).
		esc := false
		if end = plainRun(b, i+1); end >= 0 && b[end] == '"' {
			end++
		} else {
			var err error
			if end, esc, err = d.jstring(b, i); err != nil {
				return end, err
			}
		}
		if o == nil {
			return end, nil
		}
		s := b[i+1 : end-1]
		if esc {
			start := len(d.scratch)
			d.scratch = appendUnescaped(d.scratch, s)
			s = d.scratch[start:len(d.scratch):len(d.scratch)]
		}
		o.Kind, o.Bytes = String, s
	case c == '-' || c >= '0' && c <= '9':
		var f float64
		var exact bool
		var err error
		if end, f, exact, err = d.jnumber(b, i); err != nil || o == nil {
			return end, err
		}
		if !exact {
			if f, err = d.jparseNumber(b, i, end); err != nil {
				return end, err
			}
		}
		o.Kind, o.Bytes, o.Num = Number, b[i:end], f
	case c == 't':
		if end = i + 4; !hasLiteral(b, i, "true") {
			return i, d.jerr(i, "invalid literal (want true)")
		}
		if o == nil {
			return end, nil
		}
		o.Kind, o.Bytes, o.Num = Bool, b[i:end], 1
	case c == 'f':
		if end = i + 5; !hasLiteral(b, i, "false") {
			return i, d.jerr(i, "invalid literal (want false)")
		}
		if o == nil {
			return end, nil
		}
		o.Kind, o.Bytes = Bool, b[i:end]
	case c == 'n':
		if end = i + 4; !hasLiteral(b, i, "null") {
			return i, d.jerr(i, "invalid literal (want null)")
		}
		if o == nil {
			return end, nil
		}
		o.Kind, o.Bytes = Null, b[i:end]
	default:
		return i, d.jerr(i, "invalid character "+strconv.QuoteRune(rune(b[i]))+" looking for a value")
	}
	if d.found++; d.found == len(d.out) {
		return end, errDone
	}
	return end, nil
}

// jparseNumber converts the number b[i:end] that jnumber accepted but could not convert.
func (d *Decoder) jparseNumber(b []byte, i, end int) (float64, error) {
	f, err := strconv.ParseFloat(bytesToString(b[i:end]), 64)
	if err != nil && !isRangeErr(err) {
		return 0, d.jerr(i, "invalid number")
	}
	return f, nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// hasLiteral reports whether b[i:] starts with lit.
func hasLiteral(b []byte, i int, lit string) bool {
	return len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit
}

func (d *Decoder) jobject(b []byte, i int, n *node, depth int) (int, error) {
	if depth > MaxDepth {
		return i, d.jerr(i, "nesting too deep")
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	guesses := d.guesses(n)
	for k := 0; ; k++ {
		if i >= len(b) || b[i] != '"' {
			return i, d.jerr(i, "expected a member name")
		}
		var child *node
		if k < len(guesses) && guesses[k].matches(b, i+1) {
			// The name (and the colon, when it followed directly) of the last object's member
			// at this position.
			child, i = guesses[k].child, i+1+guesses[k].n
		} else {
			end, esc := plainRun(b, i+1), false
			if end >= 0 && b[end] == '"' {
				end++
			} else {
				var err error
				if end, esc, err = d.jstring(b, i); err != nil {
					return end, err
				}
			}
			if n != nil && len(n.members) > 0 {
				key := b[i+1 : end-1]
				if esc {
					d.keybuf = appendUnescaped(d.keybuf[:0], key)
					key = d.keybuf
				}
				child = n.member(key)
				if !esc {
					spelling := b[i+1 : end]
					if end < len(b) && b[end] == ':' && len(spelling) < maxGuessLen {
						spelling = b[i+1 : end+1]
					}
					d.learn(n, k, spelling, child)
					guesses = d.guess[n.id]
				}
			}
			i = end
		}
		if b[i-1] != ':' {
			i = skipWS(b, i)
			if i >= len(b) || b[i] != ':' {
				return i, d.jerr(i, "expected ':' after a member name")
			}
			i++
		}
		i = skipWS(b, i)
		// jvalue's case for a string without escapes, repeated here to save a call per member.
		e := -1
		if i < len(b) && b[i] == '"' {
			e = plainRun(b, i+1)
		}
		if e >= 0 && b[e] == '"' {
			if child != nil && child.field >= 0 && d.out[child.field].Kind == Missing {
				o := &d.out[child.field]
				o.Kind, o.Bytes = String, b[i+1:e]
				if d.found++; d.found == len(d.out) {
					return e + 1, errDone
				}
			}
			i = skipWS(b, e+1)
		} else if i < len(b) && (b[i] == '-' || b[i] >= '0' && b[i] <= '9') {
			// jvalue's number case, likewise.
			end, f, exact, err := d.jnumber(b, i)
			if err != nil {
				return end, err
			}
			if child != nil && child.field >= 0 && d.out[child.field].Kind == Missing {
				if !exact {
					if f, err = d.jparseNumber(b, i, end); err != nil {
						return end, err
					}
				}
				o := &d.out[child.field]
				o.Kind, o.Bytes, o.Num = Number, b[i:end], f
				if d.found++; d.found == len(d.out) {
					return end, errDone
				}
			}
			i = skipWS(b, end)
		} else {
			var err error
			if i, err = d.jvalue(b, i, child, depth); err != nil {
				return i, err
			}
			i = skipWS(b, i)
		}
		if i >= len(b) {
			return i, d.jerr(i, "unexpected end of input in an object")
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return i, d.jerr(i, "expected ',' or '}' in an object")
		}
	}
}

func (d *Decoder) jarray(b []byte, i int, n *node, depth int) (int, error) {
	if depth > MaxDepth {
		return i, d.jerr(i, "nesting too deep")
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for k := 0; ; k++ {
		var child *node
		if n != nil && len(n.elems) > 0 {
			child = n.elem(k)
		}
		var err error
		if i, err = d.jvalue(b, i, child, depth); err != nil {
			return i, err
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return i, d.jerr(i, "unexpected end of input in an array")
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case ']':
			return i + 1, nil
		default:
			return i, d.jerr(i, "expected ',' or ']' in an array")
		}
	}
}

func isHex4(b []byte) bool {
	for _, c := range b[:4] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		default:
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}

// appendUnescaped appends the unescaped form of s, the body of a string jstring accepted.
// Lone surrogates become U+FFFD, as encoding/json does.
func appendUnescaped(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			j := i + 1
			for j < len(s) && s[j] != '\\' {
				j++
			}
			dst = append(dst, s[i:j]...)
			i = j
			continue
		}
		switch s[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(s[i+2:])
			i += 6
			if r >= 0xD800 && r < 0xDC00 {
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if r2 := hex4(s[i+2:]); r2 >= 0xDC00 && r2 < 0xE000 {
						r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
						i += 6
						dst = utf8.AppendRune(dst, r)
						continue
					}
				}
				r = utf8.RuneError
			} else if r >= 0xDC00 && r < 0xE000 {
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, s[i+1])
		}
		i += 2
	}
	return dst
}
