package kafka

import (
	"bytes"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestClassFor(t *testing.T) {
	prevClass, prevSize := -1, 0
	for n := 1; n <= 1<<20; n++ {
		c, size := classFor(n)
		if size < n {
			t.Fatalf("classFor(%d) = size %d, too small", n, size)
		}
		if n > minClassSize && size > n+n/4 {
			t.Fatalf("classFor(%d) = size %d: more than a quarter over", n, size)
		}
		if c < prevClass || c > prevClass+1 || (c == prevClass) != (size == prevSize) {
			t.Fatalf("classFor(%d) = (%d, %d) after (%d, %d): classes must be consecutive and one size each", n, c, size, prevClass, prevSize)
		}
		if c != prevClass && classWithin(size) != c {
			t.Fatalf("classWithin(%d) = %d, want %d", size, classWithin(size), c)
		}
		if c > 0 && classWithin(size-1) != c-1 {
			t.Fatalf("classWithin(%d) = %d, want %d", size-1, classWithin(size-1), c-1)
		}
		prevClass, prevSize = c, size
	}
	if c, size := classFor(8 << 23); c != maxClass || size != 8<<23 {
		t.Fatalf("classFor(64 Mi) = (%d, %d), want (%d, %d)", c, size, maxClass, 8<<23)
	}
}

func TestSlicePool(t *testing.T) {
	p := newSlicePool[int](2, 1<<20)
	a := p.get(100)
	if cap(a) < 100 || len(a) != 0 {
		t.Fatalf("get(100): len %d cap %d", len(a), cap(a))
	}
	a = append(a, 1, 2, 3)
	p.put(a)
	b := p.get(cap(a))
	if &b[:1][0] != &a[0] || len(b) != 0 {
		t.Fatal("a slice put back was not reused by a get of its class")
	}
	// A grown slice goes to the largest class it covers, so it serves smaller requests only.
	big := make([]int, 0, 130)
	p.put(big)
	if c := p.get(129); cap(c) < 129 {
		t.Fatalf("get(129) capacity %d", cap(c))
	}
	// A full class drops what no longer fits instead of blocking.
	for range 5 {
		p.put(make([]int, 0, 64))
	}
	if n := len(p.classes[classWithin(64)]); n != 2 {
		t.Fatalf("class of 64 holds %d slices, want its bound 2", n)
	}
	p.put(make([]int, 0, minClassSize-1)) // below the smallest class: dropped, no panic
}

func TestSlicePoolByteLimit(t *testing.T) {
	p := newSlicePool[int64](100, 8*100) // room for 100 elements
	p.put(make([]int64, 0, 64))
	p.put(make([]int64, 0, 64)) // would make 128: dropped
	p.put(make([]int64, 0, 32))
	if got := p.pooled.Load(); got != 96 {
		t.Fatalf("pooled %d elements, want 96", got)
	}
	p.get(64)
	if got := p.pooled.Load(); got != 32 {
		t.Fatalf("after a get, pooled %d elements, want 32", got)
	}
	if got := p.idleBytes(); got != 32*8 {
		t.Fatalf("idle bytes %d, want %d (32 int64s)", got, 32*8)
	}
}

// A raw snappy block gets a buffer of its decoded length (s2 would allocate its own for a
// short one); framed snappy and other codecs get the guess.
func TestDecompressBytesSizing(t *testing.T) {
	p := newFetchPools(4, 64<<20)
	plain := bytes.Repeat([]byte(`{"tenant":"t-0001","status":200}`), 1000)
	raw := s2.EncodeSnappy(nil, plain)
	if got := cap(p.GetDecompressBytes(raw, kgo.CodecSnappy)); got < len(plain) || got > len(plain)+len(plain)/4 {
		t.Errorf("raw snappy of %d bytes: buffer of %d, want its decoded length (within a size class)", len(plain), got)
	}
	framed := append(append([]byte(nil), xerialMagic...), raw...)
	if got := cap(p.GetDecompressBytes(framed, kgo.CodecSnappy)); got < len(framed)*decompressGuess {
		t.Errorf("framed snappy: buffer of %d, want the %d× guess", got, decompressGuess)
	}
	if got := cap(p.GetDecompressBytes(raw, kgo.CodecLz4)); got < len(raw)*decompressGuess {
		t.Errorf("lz4: buffer of %d, want the %d× guess", got, decompressGuess)
	}
}

// What a list held throughout an interval is dropped at its end; what a get took from it in
// the interval is kept. A burst of returns (a stalled sink's batches coming back at once) is
// gone within two trims if no fetch needs it.
func TestSlicePoolTrim(t *testing.T) {
	p := newSlicePool[int64](100, 1<<20)
	k := classWithin(64)
	burst := func(n int) {
		for range n {
			p.put(make([]int64, 0, 64))
		}
	}
	burst(6)
	if got := p.trim(); got != 0 {
		t.Fatalf("first trim after a burst dropped %d bytes: the list was empty at the interval's start", got)
	}
	// The next interval, fetches take two slices at most at once, and give them back.
	a, b := p.get(64), p.get(64)
	p.put(a)
	p.put(b)
	if got, want := p.trim(), int64(4*64*8); got != want {
		t.Fatalf("trim dropped %d bytes, want %d (the 4 slices no get needed)", got, want)
	}
	if n := len(p.classes[k]); n != 2 {
		t.Fatalf("the class kept %d slices, want the 2 its gets cycled through", n)
	}
	// An interval without a get: everything left was idle throughout.
	p.trim()
	if got := p.idleBytes(); got != 0 {
		t.Fatalf("after an idle interval the list holds %d bytes, want 0", got)
	}
	if got := p.pooled.Load(); got != 0 {
		t.Fatalf("pooled %d elements, want 0", got)
	}
	// Trimming does not stop the list from working.
	burst(1)
	if s := p.get(64); cap(s) != 64 {
		t.Fatalf("after trims a get of a pooled class returned capacity %d, want the pooled 64", cap(s))
	}
}

// Concurrent gets, puts and trims keep the byte count equal to what the lists hold (-race).
func TestSlicePoolTrimConcurrent(t *testing.T) {
	p := newSlicePool[byte](256, 1<<30)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 20000 {
			s := p.get(100 + i%2000)
			p.put(s)
		}
	}()
	for {
		select {
		case <-done:
			var held int64
			for k := range p.classes {
				for len(p.classes[k]) > 0 {
					held += int64(cap(<-p.classes[k]))
				}
			}
			if got := p.pooled.Load(); got != held {
				t.Fatalf("pooled counts %d bytes, the lists hold %d", got, held)
			}
			return
		default:
			p.trim()
		}
	}
}
