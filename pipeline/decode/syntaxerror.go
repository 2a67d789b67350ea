package decode

import "strconv"

// syntaxError describes malformed input at a byte offset.
type syntaxError struct {
	format Format
	off    int
	msg    string
	text   string // the message, built once
}

func (e *syntaxError) Error() string { return e.text }

// syntaxErr returns the error for msg at off. When a stream turns bad its records mostly fail
// alike (the same producer bug at the same offset), and every record's error becomes its dead
// letter's detail: the decoder gives the last error again when it is the same, so a flood of
// them costs neither an error nor a message each. The message is built without fmt, which was
// a tenth of the dead-letter path's CPU.
func (d *Decoder) syntaxErr(f Format, off int, msg string) error {
	if e := d.lastErr; e != nil && e.format == f && e.off == off && e.msg == msg {
		return e
	}
	var b [24]byte
	e := &syntaxError{format: f, off: off, msg: msg,
		text: "decode " + f.String() + ": " + msg + " at offset " + string(strconv.AppendInt(b[:0], int64(off), 10))}
	d.lastErr = e
	return e
}
