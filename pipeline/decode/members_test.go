package decode

import (
	"fmt"
	"testing"
)

// TestMemberTable plans members whose names collide in the hash (same length, first and last
// byte) and enough names to grow the table, and looks up every planned name, the empty name and
// near misses.
func TestMemberTable(t *testing.T) {
	names := []string{"a", "ab", "axb", "ayb", "azb", "ts", "tenant", "user", "path", "method",
		"status", "bytes", "latency_ms", "latency_mx", "abcdefgh", "abcdefghi", "abcdefghij", "abcdefgi",
		"t s", "a.b", "é"}
	for k := range 40 {
		names = append(names, fmt.Sprintf("k%db", k))
	}
	for count := 0; count <= len(names); count++ {
		p := NewPlan(JSON)
		for _, name := range names[:count] {
			if _, err := p.Add(`$["` + name + `"]`); err != nil {
				t.Fatal(err)
			}
		}
		// A name is looked up as the scanner passes it: sliced from a longer buffer (so its word
		// is one load and the bytes after it must not matter) or with no spare capacity.
		lookup := func(name string) [2]*node {
			long := append([]byte(name), `":"abcdefgh`...)
			return [2]*node{p.root.member(long[:len(name)]), p.root.member([]byte(name)[:len(name):len(name)])}
		}
		for k, name := range names {
			both := lookup(name)
			if both[0] != both[1] {
				t.Fatalf("%d members: %q -> %v with spare capacity, %v without", count, name, both[0], both[1])
			}
			got := both[0]
			if k < count {
				if got == nil || got.field != k {
					t.Fatalf("%d members: %q -> %v, want field %d", count, name, got, k)
				}
			} else if got != nil {
				t.Fatalf("%d members: unplanned %q -> field %d", count, name, got.field)
			}
		}
		for _, miss := range []string{"", "aab", "b", "tss", "awb", "k99b", "bytes ", "Ts", "abcdefg",
			"abcdefghk", "latency_m", "latency_msx", "abcdefgh\x00"} {
			for _, got := range lookup(miss) {
				if got != nil {
					t.Fatalf("%d members: unplanned %q -> field %d", count, miss, got.field)
				}
			}
		}
		if n := len(p.root.keys.slots); count > 0 && n < 2*count {
			t.Fatalf("%d members in %d slots", count, n)
		}
	}
}

// linearMember is the lookup the table replaced: the reference for BenchmarkMember.
func (n *node) linearMember(key []byte) *node {
	for i := range n.members {
		if n.members[i].key == string(key) {
			return n.members[i].n
		}
	}
	return nil
}

// BenchmarkMember looks up the member names of runtimeLog in the runtime plan's root.
func BenchmarkMember(b *testing.B) {
	p, _, _ := plan(b, JSON, runtimeFields...)
	buf, starts := runtimeStrings()
	var keys [][]byte
	for k := 0; k < len(starts); k += 2 {
		end, _, _ := refJString(buf, starts[k])
		keys = append(keys, buf[starts[k]+1:end-1])
	}
	b.Run("table", func(b *testing.B) {
		for b.Loop() {
			for _, k := range keys {
				p.root.member(k)
			}
		}
	})
	b.Run("linear", func(b *testing.B) {
		for b.Loop() {
			for _, k := range keys {
				p.root.linearMember(k)
			}
		}
	})
}
