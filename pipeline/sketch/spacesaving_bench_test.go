package sketch

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/weirstream/weir/internal/benchclock"
)

// BenchmarkSpaceSavingZipf adds keys drawn from Zipf(1.05) over 20,000 users into 1,000
// counters, the shape of a per-user rule on the demo traffic: most adds hit tracked keys, and a
// steady trickle of tail keys evicts the minimum.
func BenchmarkSpaceSavingZipf(b *testing.B) {
	const users, k = 20000, 1000
	cdf := make([]float64, users)
	var sum float64
	for i := range cdf {
		sum += 1 / math.Pow(float64(i+1), 1.05)
		cdf[i] = sum
	}
	r := rand.New(rand.NewPCG(1, 2))
	keys := make([][]byte, 1<<16)
	for i := range keys {
		u := r.Float64() * sum
		lo, hi := 0, users-1
		for lo < hi {
			mid := (lo + hi) / 2
			if cdf[mid] < u {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		keys[i] = []byte("u-" + strconv.Itoa(lo))
	}
	s := NewSpaceSaving(k)
	b.ReportAllocs()
	b.ResetTimer()
	clock := benchclock.Start()
	for i := range b.N {
		s.Add(keys[i&(len(keys)-1)], 1)
	}
	clock.Report(b)
}

// BenchmarkSpaceSavingKeys adds keys cycling through exactly N distinct (tenant, user) keys
// into 1000 counters, as the end-to-end keys scenario: up to 1000 keys every add hits a
// tracked key; beyond, nearly every add evicts the minimum.
func BenchmarkSpaceSavingKeys(b *testing.B) {
	for _, n := range []int{10, 1000, 100_000, 1_000_000} {
		b.Run("keys="+strconv.Itoa(n), func(b *testing.B) {
			keys := make([][]byte, 1<<16)
			for i := range keys {
				u := int((uint64(i)*2654435761)%uint64(n)) + 1
				keys[i] = []byte("\x06t-" + strconv.Itoa(1000+u%200) + "\x07u-" + strconv.Itoa(10000+u))
			}
			s := NewSpaceSaving(1000)
			b.ReportAllocs()
			i := 0
			clock := benchclock.Start()
			for b.Loop() {
				s.Add(keys[i&(len(keys)-1)], 1)
				i++
			}
			clock.Report(b)
		})
	}
}

// BenchmarkSpaceSavingMerge merges full 1,000-counter sketches of two partitions whose keys
// half overlap: what the fleet aggregator does per rule and partition every window.
func BenchmarkSpaceSavingMerge(b *testing.B) {
	const k = 1000
	parts := overlappingParts(k)
	b.ReportAllocs()
	for b.Loop() {
		s := NewSpaceSaving(k)
		s.Merge(parts[0])
		s.Merge(parts[1])
	}
}

// overlappingParts returns two full k-counter sketches whose keys half overlap, with small
// integer counts (many ties).
func overlappingParts(k int) []*SpaceSaving {
	parts := make([]*SpaceSaving, 2)
	for p := range parts {
		parts[p] = NewSpaceSaving(k)
		for i := range 4 * k {
			parts[p].Add([]byte("u-"+strconv.Itoa(p*k/2+i%(2*k))), float64(1+i%7))
		}
	}
	return parts
}
