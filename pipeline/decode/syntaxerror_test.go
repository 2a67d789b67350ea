package decode

import (
	"fmt"
	"testing"
)

// The message built without fmt reads as the fmt one did; the same error at the same offset is
// given again, another one is not.
func TestSyntaxErrorMessage(t *testing.T) {
	var d Decoder
	for _, c := range []struct {
		f   Format
		off int
		msg string
	}{{JSON, 4, `unexpected "x"`}, {CLF, 0, "unterminated [ group"}, {Msgpack, 1 << 40, "truncated"}} {
		err := d.syntaxErr(c.f, c.off, c.msg)
		if got, want := err.Error(), fmt.Sprintf("decode %v: %s at offset %d", c.f, c.msg, c.off); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
		if again := d.syntaxErr(c.f, c.off, c.msg); again != err {
			t.Errorf("%v: the same error again is a new value", err)
		}
		if other := d.syntaxErr(c.f, c.off+1, c.msg); other == err || other.Error() == err.Error() {
			t.Errorf("%v: another offset gave %v", err, other)
		}
	}
	_, dec, out := plan(t, JSON, "$.ts")
	for _, doc := range []string{`{"ts" 1}`, `{"ts" 2}`} {
		if err := dec.Decode([]byte(doc), out); err == nil || err.Error() != `decode json: expected ':' after a member name at offset 6` {
			t.Errorf("%s: %v", doc, err)
		}
	}
	if err := dec.Decode([]byte(`{"x" 1}`), out); err == nil || err.Error() == `decode json: expected ':' after a member name at offset 6` {
		t.Errorf("another error after it: %v", err)
	}
}
