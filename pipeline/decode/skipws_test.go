package decode

import "testing"

// TestSkipWS checks skipWS (its inlined first test and the loop behind it) against JSON's four
// whitespace bytes for every byte value: alone before a token, after a space, and at the end of
// the buffer.
func TestSkipWS(t *testing.T) {
	for v := range 256 {
		c := byte(v)
		n := 0
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			n = 1
		}
		if got := skipWS([]byte{c, 'x'}, 0); got != n {
			t.Errorf("skipWS(%q x) = %d, want %d", c, got, n)
		}
		if got := skipWS([]byte{' ', c, 'x'}, 0); got != 1+n {
			t.Errorf("skipWS(space %q x) = %d, want %d", c, got, 1+n)
		}
		if got := skipWS([]byte{c}, 0); got != n {
			t.Errorf("skipWS(%q) = %d, want %d", c, got, n)
		}
	}
}
