package decode

import "encoding/binary"

// Machine-written records repeat one shape: the same members in the same order, record after
// record. So a Decoder remembers, for each position in each planned object, the member it found
// there last time: the bytes that spell its name in the payload, and its trie node. At the same
// position in the next record it compares the payload with those bytes first, one or two word
// compares, instead of scanning the name for its end and looking it up in the member table,
// which together were half of a JSON decode. A record of another shape costs one failed compare
// per member and the usual lookup, and its members become the guesses.
//
// A spelling is what identifies the name exactly: for JSON the name's bytes and the closing
// quote (only names without escapes are guessed, so the first quote ends the string); for
// msgpack the fixstr header byte and the name's bytes.

// maxGuessLen is the longest spelling guessed: two words.
const maxGuessLen = 16

// maxGuessMembers bounds the positions guessed in one object, and so what a Decoder keeps.
const maxGuessMembers = 64

// memberGuess is the member expected at one position of an object.
type memberGuess struct {
	word [2]uint64 // the spelling, little-endian, zero past n
	mask [2]uint64 // 0xff for each byte of the spelling
	n    int       // the spelling's length; 0 means no guess
	// child is what the member table gives for the name: nil when no planned path goes there.
	child *node
}

// guesses returns the guesses for n's members (nil when n plans no member).
func (d *Decoder) guesses(n *node) []memberGuess {
	if n == nil || len(n.members) == 0 {
		return nil
	}
	return d.guess[n.id]
}

// matches reports whether b[j:] starts with the guessed spelling. It loads whole words, so
// near the end of b it reports false and the caller takes the general path.
func (g *memberGuess) matches(b []byte, j int) bool {
	if g.n == 0 || len(b)-j < 8 {
		return false
	}
	if binary.LittleEndian.Uint64(b[j:])&g.mask[0] != g.word[0] {
		return false
	}
	return g.n <= 8 || len(b)-j >= 16 && binary.LittleEndian.Uint64(b[j+8:])&g.mask[1] == g.word[1]
}

// learn makes spelling (and child, the member table's answer for it) the guess for member k of
// n's objects. A spelling too long to guess clears the guess, so a stale one is not tried
// again and again. It allocates only while an object's guesses grow to its member count.
func (d *Decoder) learn(n *node, k int, spelling []byte, child *node) {
	if k >= maxGuessMembers {
		return
	}
	gs := d.guess[n.id]
	for len(gs) <= k {
		gs = append(gs, memberGuess{})
	}
	d.guess[n.id] = gs
	g := &gs[k]
	*g = memberGuess{child: child}
	if len(spelling) > maxGuessLen {
		return
	}
	g.n = len(spelling)
	for i, c := range spelling {
		g.word[i/8] |= uint64(c) << (8 * (i % 8))
		g.mask[i/8] |= 0xff << (8 * (i % 8))
	}
}
