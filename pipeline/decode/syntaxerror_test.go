package decode

import (
	"fmt"
	"testing"
)

// The message built without fmt reads as the fmt one did.
func TestSyntaxErrorMessage(t *testing.T) {
	for _, e := range []syntaxError{{JSON, 4, `unexpected "x"`}, {CLF, 0, "unterminated [ group"}, {Msgpack, 1 << 40, "truncated"}} {
		if got, want := e.Error(), fmt.Sprintf("decode %v: %s at offset %d", e.format, e.msg, e.off); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	_, d, out := plan(t, JSON, "$.ts")
	if err := d.Decode([]byte(`{"ts" 1}`), out); err == nil || err.Error() != `decode json: expected ':' after a member name at offset 6` {
		t.Errorf("a record missing its colon: %v", err)
	}
}
