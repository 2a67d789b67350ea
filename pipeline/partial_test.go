package pipeline

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

func samplePartial() *Partial {
	return &Partial{
		V: PartialVersion, Stream: "events", Partition: "3",
		Start: 1_795_000_000_000_000_000, End: 1_795_000_060_000_000_000,
		Records: 2, Bytes: 300,
		Dropped: DropCounts{"late": 1, "decode": 4},
		First:   Position{Offset: 17}, Last: Position{Offset: 19},
		Ops: []OpState{{Name: "throughput", State: []byte{0x90}}, {Name: "contributors/x", Config: "ab12", State: []byte{0xc0}}},
	}
}

func TestPartialRoundTrip(t *testing.T) {
	in := samplePartial()
	b, err := EncodePartial(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodePartial(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip:\n got %+v\nwant %+v", out, in)
	}
	if w := out.Window(); w.Start.UnixNano() != in.Start || w.End.UnixNano() != in.End {
		t.Errorf("Window() = %v", w)
	}
	if out.Source() != (Partition{Stream: "events", ID: "3"}) {
		t.Errorf("Source() = %v", out.Source())
	}
}

// The bytes are fixed: field order, names and encodings are the format, and a replay must
// rewrite a partial with exactly the bytes it had. A change here is a format change (bump
// PartialVersion).
func TestPartialEncodingIsFixed(t *testing.T) {
	b, err := EncodePartial(samplePartial())
	if err != nil {
		t.Fatal(err)
	}
	const want = "8ca17601a673747265616da66576656e7473a9706172746974696f6ea133a57374617274cf18e91efd5bd38000" +
		"a3656e64cf18e91f0b541ad800a77265636f72647302a56279746573cd012ca764726f7070656482a66465636f646504" +
		"a46c61746501a5666972737483a64f666673657411a3536571a0a353756200a46c61737483a64f666673657413a35365" +
		"71a0a353756200a5656e646564c2a36f70739283a46e616d65aa7468726f756768707574a6636f6e666967a0a5737461" +
		"7465c4019083a46e616d65ae636f6e7472696275746f72732f78a6636f6e666967a461623132a57374617465c401c0"
	if got := hex.EncodeToString(b); got != want {
		t.Fatalf("encoding:\n got %s\nwant %s", got, want)
	}
	// Dropped's keys are sorted whatever the map's iteration order.
	p := samplePartial()
	p.Dropped = DropCounts{}
	for i := range 64 {
		p.Dropped["reason-"+strconv.Itoa(i)] = int64(i)
	}
	first, err := EncodePartial(p)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, _ := EncodePartial(p)
		if !bytes.Equal(first, again) {
			t.Fatal("two encodings of one partial differ")
		}
	}
	if i, j := bytes.Index(first, []byte("reason-10")), bytes.Index(first, []byte("reason-9")); i < 0 || j < 0 || i > j {
		t.Error("Dropped's keys are not in sorted order")
	}
}

func TestDecodePartialRefuses(t *testing.T) {
	enc := func(mut func(*Partial)) []byte {
		p := samplePartial()
		mut(p)
		b, err := msgpack.Marshal(p) // bypasses EncodePartial's checks
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good, _ := EncodePartial(samplePartial())
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"another version", enc(func(p *Partial) { p.V = 2 }), "version"},
		{"no version", enc(func(p *Partial) { p.V = 0 }), "version"},
		{"trailing bytes", append(append([]byte(nil), good...), 0xc0), "after the partial"},
		{"truncated", good[:len(good)-3], "partial"},
		{"no stream", enc(func(p *Partial) { p.Stream = "" }), "named"},
		{"empty window", enc(func(p *Partial) { p.End = p.Start }), "empty"},
		{"negative records", enc(func(p *Partial) { p.Records = -1 }), "negative"},
		{"positions inverted", enc(func(p *Partial) { p.First.Offset = 30 }), "before first"},
		{"negative drop", enc(func(p *Partial) { p.Dropped["late"] = -1 }), "dropped"},
		{"unnamed op", enc(func(p *Partial) { p.Ops[0].Name = "" }), "no name"},
		{"op twice", enc(func(p *Partial) { p.Ops[1].Name = p.Ops[0].Name }), "two states"},
		{"not msgpack", []byte("hello"), "partial"},
		{"nil", []byte{0xc0}, "version"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodePartial(c.b)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("DecodePartial: %v, want an error containing %q", err, c.want)
			}
		})
	}
	if _, err := DecodePartial(enc(func(p *Partial) { p.V = 2 })); !errors.Is(err, ErrPartialVersion) {
		t.Errorf("another version: %v, want ErrPartialVersion", err)
	}
	if _, err := EncodePartial(&Partial{V: 2}); err == nil {
		t.Error("EncodePartial wrote a version this build does not write")
	}
}

// An empty window is a valid partial: that is how a partition says it passed a window.
func TestEmptyPartialIsValid(t *testing.T) {
	p := &Partial{V: PartialVersion, Stream: "s", Partition: "0", Start: 0, End: 60e9}
	b, err := EncodePartial(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodePartial(b); err != nil {
		t.Fatal(err)
	}
}

// addPartialSeeds seeds a fuzz target of partials: a sample, nil, an empty map, an empty
// window. It returns the sample's encoding.
func addPartialSeeds(f *testing.F) []byte {
	good, _ := EncodePartial(samplePartial())
	f.Add(good)
	f.Add([]byte{0xc0})
	f.Add([]byte{0x80})
	empty, _ := EncodePartial(&Partial{V: 1, Stream: "s", Partition: "p", End: 1})
	f.Add(empty)
	return good
}

// FuzzDecodePartial: any input either fails cleanly or decodes to a partial that re-encodes
// deterministically and decodes back to itself.
func FuzzDecodePartial(f *testing.F) {
	addPartialSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodePartial(b)
		if err != nil {
			return
		}
		again, err := EncodePartial(p)
		if err != nil {
			t.Fatalf("a decoded partial does not encode: %v", err)
		}
		q, err := DecodePartial(again)
		if err != nil {
			t.Fatalf("a re-encoded partial does not decode: %v", err)
		}
		if !reflect.DeepEqual(normal(p), normal(q)) {
			t.Fatalf("round trip changed the partial:\n%+v\n%+v", p, q)
		}
		third, _ := EncodePartial(q)
		if !bytes.Equal(again, third) {
			t.Fatal("encoding is not deterministic")
		}
	})
}

// normal makes nil and empty maps and slices compare equal: msgpack keeps the difference
// between nil and empty, which the format does not care about.
func normal(p *Partial) *Partial {
	c := *p
	if len(c.Dropped) == 0 {
		c.Dropped = nil
	}
	if len(c.Ops) == 0 {
		c.Ops = nil
	}
	c.Ops = append([]OpState(nil), c.Ops...)
	for i := range c.Ops {
		if len(c.Ops[i].State) == 0 {
			c.Ops[i].State = nil
		}
	}
	return &c
}

// DecodePartialInto reuses an earlier partial's memory and keeps nothing else of it: a small
// partial (one operator, nothing dropped, another window) decoded into what held a large one
// (two operators, drops, positions) is the partial DecodePartial makes of it, and its state
// is in the earlier buffer.
func TestDecodePartialIntoKeepsNothingOfTheLast(t *testing.T) {
	big := samplePartial()
	big.Ops[1].State = bytes.Repeat([]byte{0xc0}, 1000)
	big.Ended = true
	small := &Partial{V: PartialVersion, Stream: "other", Partition: "9", Start: 60e9, End: 120e9,
		Ops: []OpState{{Name: "contributors/x", State: []byte{0x90}}}}
	var p Partial
	for _, in := range []*Partial{big, small, big} {
		b, err := EncodePartial(in)
		if err != nil {
			t.Fatal(err)
		}
		reused := p.Ops
		if err := DecodePartialInto(b, &p); err != nil {
			t.Fatal(err)
		}
		fresh, err := DecodePartial(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(normal(&p), normal(fresh)) {
			t.Errorf("decoded into a used partial:\n got %+v\nwant %+v", p, *fresh)
		}
		if cap(reused) >= len(p.Ops) && len(p.Ops) > 0 && &reused[:1][0] != &p.Ops[0] {
			t.Error("the operators' slice was not reused")
		}
	}
	if cap(p.Ops[1].State) < 1000 {
		t.Errorf("the large state's buffer was not reused: cap %d", cap(p.Ops[1].State))
	}
}

// FuzzDecodePartialInto: any input decoded into a partial that held another gives what
// DecodePartial gives: the same error, or the same partial.
func FuzzDecodePartialInto(f *testing.F) {
	good := addPartialSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		fresh, ferr := DecodePartial(b)
		var p Partial
		if err := DecodePartialInto(good, &p); err != nil {
			t.Fatal(err)
		}
		err := DecodePartialInto(b, &p)
		if (err == nil) != (ferr == nil) {
			t.Fatalf("into a used partial: %v; fresh: %v", err, ferr)
		}
		if err == nil && !reflect.DeepEqual(normal(&p), normal(fresh)) {
			t.Fatalf("into a used partial:\n%+v\nfresh:\n%+v", p, *fresh)
		}
	})
}
