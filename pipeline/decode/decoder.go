package decode

import "fmt"

// Decoder extracts a Plan's fields from record payloads. Each runner goroutine owns one: it
// keeps scratch buffers between calls, so Decode does not allocate once they have grown to the
// stream's record sizes. A Decoder is not safe for concurrent use.
//
// Semantics shared by the formats:
//   - A field whose path does not resolve (absent member, index past the end, a step into a
//     value of the wrong type) is Missing; that is not an error.
//   - When a document holds the same member twice, each planned path takes the first value
//     found for it in document order, per path: in {"a":1,"a":{"b":2}}, $.a is 1 and $.a.b is
//     2. First-wins (rather than JSON.parse's last-wins) is what lets the scanner stop early.
//   - The scanner stops as soon as every planned field has been found: the rest of the
//     document is not validated, so a record malformed only after its last wanted field is
//     decoded, not rejected. Documents in which some field is missing are scanned to the end
//     and validated whole.
//   - Malformed input (bad syntax, truncation, nesting deeper than MaxDepth) is an error, and
//     out is then undefined.
type Decoder struct {
	plan *Plan
	out  []Value
	// found counts fields set in this Decode; the scan stops when it reaches plan.n.
	found int
	// scratch receives unescaped JSON strings and formatted msgpack numbers. Its capacity is
	// reserved at the start of each Decode so that appends never move it (Values point into
	// it).
	scratch []byte
	// keybuf receives unescaped JSON object keys while they are compared.
	keybuf []byte
	// guess holds, by node id, the member expected at each position of the node's objects
	// (guess.go).
	guess [][]memberGuess
	// lastErr is the last syntax error returned, given again for the same error at the same
	// offset (syntaxerror.go).
	lastErr *syntaxError
}

// MaxDepth bounds the nesting of arrays and objects the scanners accept.
const MaxDepth = 1000

// errDone stops a scan once every planned field has been found. Decode recognizes it by its
// type, a compare of the type word: comparing with an errors.New value called runtime.ifaceeq
// on every scan that stopped early.
var errDone error = doneError{}

type doneError struct{}

func (doneError) Error() string { return "all fields found" }

// NewDecoder returns a Decoder for the plan and freezes the plan.
func (p *Plan) NewDecoder() *Decoder {
	p.frozen = true
	return &Decoder{plan: p, guess: make([][]memberGuess, p.nodes)}
}

// Decode fills out[i] for every planned field i (Missing where absent). out must have at least
// Plan.Len() elements; the Values point into payload and into the Decoder's scratch and are
// valid until the next Decode.
func (d *Decoder) Decode(payload []byte, out []Value) error {
	n := d.plan.n
	if len(out) < n {
		return fmt.Errorf("decode: out has %d values, the plan has %d fields", len(out), n)
	}
	out = out[:n]
	// Field by field rather than clear(out), which calls memclrHasPointers: for the handful of
	// fields a plan has, the stores cost less than that call and its write-barrier check.
	for k := range out {
		out[k].Kind, out[k].Bytes, out[k].Num = Missing, nil, 0
	}
	d.out, d.found = out, 0
	var err error
	switch d.plan.format {
	case JSON:
		err = d.decodeJSON(payload)
	case Msgpack:
		err = d.decodeMsgpack(payload)
	case CLF:
		err = d.decodeCLF(payload)
	default:
		err = fmt.Errorf("decode: unknown format %v", d.plan.format)
	}
	d.out = nil
	if _, done := err.(doneError); done {
		return nil
	}
	return err
}

// reserve makes sure scratch can take n more bytes without moving.
func (d *Decoder) reserve(n int) {
	if cap(d.scratch) < n {
		d.scratch = make([]byte, 0, n+n/4)
	}
	d.scratch = d.scratch[:0]
}

// set records field f's value and reports whether the scan can stop. The caller has already
// checked that f is planned and still Missing (a duplicate keeps the first value): checking
// again here cost a measurable share of the decode on the hot path.
func (d *Decoder) set(f int, v Value) bool {
	d.out[f] = v
	d.found++
	return d.found == len(d.out)
}
