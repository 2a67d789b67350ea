package scaling

import (
	"math"
	"math/rand/v2"
	"testing"
)

// With evenly loaded partitions the spread is Flink's key-group alignment: N tasks deliver
// P ÷ ⌈P/N⌉ tasks' worth, and the least N covering a requirement n is ⌈P / ⌊P/n⌋⌉.
func TestSpreadEvenIsKeyGroupAlignment(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		p := 1 + rng.IntN(200)
		n := 1 + rng.IntN(p)
		for _, s := range []spread{{partitions: p}, {partitions: p, hottest: 1 / float64(p)}} {
			if got, want := s.effective(n), float64(p)/float64((p+n-1)/n); math.Abs(got-want) > 1e-9*want {
				t.Fatalf("P=%d N=%d: effective %v, want %v", p, n, got, want)
			}
			required := rng.Float64() * float64(p)
			want := ceilTasks(required)
			if k := int(math.Floor(float64(p)/required + 1e-9)); k >= 1 && want < p && required > 0 {
				want = (p + k - 1) / k
			}
			if got := s.aligned(required); got != want {
				t.Fatalf("P=%d required %v: aligned %d, want %d", p, required, got, want)
			}
		}
	}
}

// Whatever the spread, more tasks never deliver less, never more than their count, and the
// aligned count is the least that covers the requirement.
func TestSpreadInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 3000 {
		p := 1 + rng.IntN(100)
		s := spread{partitions: p, hottest: rng.Float64()}
		prev := 0.0
		for n := 1; n <= p+2; n++ {
			e := s.effective(n)
			if e < prev-1e-12 || e > float64(n)+1e-9 || math.IsNaN(e) {
				t.Fatalf("%+v: effective(%d) = %v after %v", s, n, e, prev)
			}
			prev = e
		}
		required := rng.Float64() * float64(p) * 1.2
		n := s.aligned(required)
		if n <= p {
			if s.effective(n) < required*(1-1e-9) {
				t.Fatalf("%+v: aligned(%v) = %d delivers only %v", s, required, n, s.effective(n))
			}
			if n > 1 && s.effective(n-1) >= required*(1-1e-9) && n-1 >= ceilTasks(required) {
				t.Fatalf("%+v: aligned(%v) = %d, but %d delivers %v", s, required, n, n-1, s.effective(n-1))
			}
		} else if s.effective(p) >= required*(1-1e-9) {
			t.Fatalf("%+v: aligned(%v) = %d beyond P=%d, but P delivers %v", s, required, n, p, s.effective(p))
		}
	}
}
