package kafka

import (
	"bytes"
	"math/bits"
	"sync/atomic"
	"unsafe"

	"github.com/klauspost/compress/s2"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Fetched records are the bulk of what a worker allocates: franz-go's []kgo.Record and its
// decompression buffers, and weir's []pipeline.Record for each batch. Allocated afresh for
// every fetch, they make the garbage collector one of the largest CPU users and double the
// heap's peak over what is live (bench/README.md, "Findings behind the code"). They are recycled instead: a batch's slices go back into a
// free list when the runtime has finished with the batch (Batch.Done), and the next fetch takes
// them from there.
//
// The free lists are bounded channels rather than sync.Pools: a sync.Pool is emptied by every
// second GC, which at this allocation rate is several times a second, so most gets missed. A
// list never holds more than a share of the budget (poolShare), and a slice the
// list cannot take is left to the GC, so forgetting to return one costs an allocation, never
// correctness. What no fetch has taken for a while is dropped (pooltrim.go): the lists hold the
// working set of the fetches, not the most that was ever in flight at once.

// poolSlices is how many slices each size class of a free list keeps at most; the list's byte
// bound (poolShare) usually binds first.
const poolSlices = 256

// poolShare: each free list may keep 1/poolShare of the in-flight budget idle. Per-class
// bounds alone are not enough: batch sizes wander across classes, and the sum of every class's
// peak was twice what was ever in flight at once. The lists must cover the swing between
// batches finishing and fetches arriving, which is wide (the budget pauses and resumes whole
// partitions): of the shares tried, a quarter processed the most records per CPU-second, for
// about the same peak RSS (bench/README.md).
const poolShare = 4

// Size classes are spaced four to a power of two (16, 20, 24, 28, 32, 40, …), so a slice serves
// any request up to its capacity with at most a fifth of it unused. With powers of two up to
// half goes unused, and the pooled memory can be twice what the budget charged for.
const (
	minClassSize = 16
	maxClass     = 4*23 - 4 // classFor(8<<23): 64 Mi elements, a whole fetch decompressed, in bytes
)

// classFor is the smallest size class holding n elements and that class's size.
func classFor(n int) (class, size int) {
	if n <= minClassSize {
		return 0, minClassSize
	}
	e := bits.Len(uint(n-1)) - 3 // n-1 has its top bit at e+2: (n-1)>>e is 4…7
	m := (n-1)>>e + 1            // 5…8
	return 4*e + m - 5 - 7, m << e
}

// classWithin is the largest size class whose size is at most c, or -1.
func classWithin(c int) int {
	if c < minClassSize {
		return -1
	}
	k, size := classFor(c)
	if size > c {
		k--
	}
	return k
}

// slicePool is a bounded free list of slices per size class, holding at most limit elements in
// all.
type slicePool[T any] struct {
	classes [maxClass + 1]chan []T
	limit   int64
	pooled  atomic.Int64 // elements (capacity) in the lists
	// low is, per class, the fewest slices its list held since the last trim: that many sat
	// idle the whole time (pooltrim.go).
	low [maxClass + 1]atomic.Int32
}

// newSlicePool keeps up to n slices per class and limitBytes of them in all.
func newSlicePool[T any](n int, limitBytes int64) *slicePool[T] {
	var zero T
	p := &slicePool[T]{limit: limitBytes / max(int64(unsafe.Sizeof(zero)), 1)}
	for c := range p.classes {
		p.classes[c] = make(chan []T, n)
	}
	return p
}

// get returns an empty slice with capacity at least n: a pooled one from n's class or the next
// two (so at most ~56% of it goes unused: batch sizes vary continuously, and an exact class
// alone missed most of the time), else a new one of n's class.
func (p *slicePool[T]) get(n int) []T {
	c, size := classFor(n)
	if c > maxClass {
		return make([]T, 0, n)
	}
	for k := c; k <= min(c+2, maxClass); k++ {
		select {
		case s := <-p.classes[k]:
			p.pooled.Add(-int64(cap(s)))
			p.lower(k)
			return s[:0]
		default:
		}
	}
	return make([]T, 0, size)
}

// put returns s to the list of the largest class its capacity covers, or leaves it to the GC
// when that list is full. The caller must have cleared anything s's elements point to that
// should not be kept alive.
func (p *slicePool[T]) put(s []T) {
	c := classWithin(cap(s))
	if c < 0 {
		return
	}
	n := int64(cap(s))
	if p.pooled.Add(n) > p.limit {
		p.pooled.Add(-n)
		return
	}
	select {
	case p.classes[min(c, maxClass)] <- s[:0]:
	default:
		p.pooled.Add(-n)
	}
}

// idleBytes is the memory the lists hold: live heap, outside the budget.
func (p *slicePool[T]) idleBytes() int64 {
	var zero T
	return p.pooled.Load() * int64(unsafe.Sizeof(zero))
}

// PooledBytes is the memory the source's free lists hold idle (weir_kafka_pooled_bytes).
func (s *Source) PooledBytes() int64 {
	return s.slices.idleBytes() + s.fetch.records.idleBytes() + s.fetch.decompress.idleBytes()
}

// fetchPools lends franz-go the slices it decodes fetches into (kgo.WithPools). franz-go puts a
// batch's slices back once every record in it has been recycled (kgo.Record.Recycle), which the
// source does in Batch.Done: after that, nothing may read the records' keys, values or headers,
// so the runtime copies whatever it keeps (dead letters, contributor keys) while processing.
type fetchPools struct {
	records    *slicePool[kgo.Record]
	decompress *slicePool[byte]
}

// decompressGuess is how many times its compressed size a batch is assumed to grow. A guess
// that is short costs franz-go one grow (and the grown buffer is what comes back to the list).
const decompressGuess = 4

func newFetchPools(n int, limitBytes int64) *fetchPools {
	return &fetchPools{records: newSlicePool[kgo.Record](n, limitBytes), decompress: newSlicePool[byte](n, limitBytes)}
}

// GetRecords implements kgo.PoolRecords.
func (p *fetchPools) GetRecords(n int) []kgo.Record { return p.records.get(n) }

// PutRecords implements kgo.PoolRecords; franz-go has zeroed the records.
func (p *fetchPools) PutRecords(s []kgo.Record) { p.records.put(s) }

// GetDecompressBytes implements kgo.PoolDecompressBytes. A raw snappy block (what franz-go
// and most clients produce for snappy) states its decoded length in its header, so the buffer
// fits exactly; with a short guess s2 allocates a buffer of its own instead.
func (p *fetchPools) GetDecompressBytes(compressed []byte, codec kgo.CompressionCodecType) []byte {
	if codec == kgo.CodecSnappy && !bytes.HasPrefix(compressed, xerialMagic) {
		if n, err := s2.DecodedLen(compressed); err == nil && n <= maxDecompressGuess {
			return p.decompress.get(n)
		}
	}
	return p.decompress.get(len(compressed) * decompressGuess)
}

// xerialMagic starts the Java client's framed snappy, which has no overall length.
var xerialMagic = []byte{130, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

// maxDecompressGuess bounds what a header may make us allocate up front: franz-go checks the
// claim against its own limit only after this call.
const maxDecompressGuess = 64 << 20

// PutDecompressBytes implements kgo.PoolDecompressBytes.
func (p *fetchPools) PutDecompressBytes(b []byte) { p.decompress.put(b) }
