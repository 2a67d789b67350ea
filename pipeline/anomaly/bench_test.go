package anomaly

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
	"unsafe"
)

// BenchmarkObserve measures one point through a warm detector (allocs/op must be 0).
func BenchmarkObserve(b *testing.B) {
	benchObserve(b, series(1<<14, 13, daily), (*Detector).Observe)
}

// BenchmarkObserveInZone is BenchmarkObserve with anomaly.time_zone set: the slot is read on
// the zone's clock, one offset lookup per point (zone.go). The points are in January to March
// 2026, outside the zone's cached current period, so the lookup searches the transitions: the
// slower case (a live series' points are in the current period).
func BenchmarkObserveInZone(b *testing.B) {
	for _, zone := range []string{"Europe/Berlin", "America/New_York"} {
		b.Run(zone, func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.TimeZone = zone
			benchObserveWith(b, cfg, series(1<<14, 13, daily), (*Detector).Observe)
		})
	}
}

// BenchmarkObserveCount measures one point of a warm series of Poisson counts observed as
// counts, where the residual's bound is computed whenever the channel has any surprise: a
// small mean (summed exactly) and a large one (the approximation).
func BenchmarkObserveCount(b *testing.B) {
	for _, lam := range []float64{3, 300} {
		b.Run(fmt.Sprintf("mean=%v", lam), func(b *testing.B) {
			r := rand.New(rand.NewPCG(13, 1))
			xs := make([]float64, 1<<14)
			for i := range xs {
				xs[i] = poisson(r, lam)
			}
			benchObserve(b, xs, (*Detector).ObserveCount)
		})
	}
}

// benchObserve warms a detector on xs (a power of two long) through observe, then measures
// one point at a time, cycling through xs again.
func benchObserve(b *testing.B, xs []float64, observe func(*Detector, time.Time, float64) Result) {
	benchObserveWith(b, DefaultConfig(), xs, observe)
}

// benchObserveWith is benchObserve with a detector of cfg.
func benchObserveWith(b *testing.B, cfg Config, xs []float64, observe func(*Detector, time.Time, float64) Result) {
	ts := make([]time.Time, len(xs))
	for i := range ts {
		ts[i] = t0.Add(time.Duration(i) * step)
	}
	d := New(cfg)
	for i := range xs {
		observe(d, ts[i], xs[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i & (len(xs) - 1)
		observe(d, ts[j], xs[j])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpoints/s")
}

func TestObserveDoesNotAllocate(t *testing.T) {
	d := New(DefaultConfig())
	var i int
	allocs := testing.AllocsPerRun(1000, func() {
		d.Observe(t0.Add(time.Duration(i)*step), float64(i%17))
		i++
	})
	if allocs != 0 {
		t.Errorf("Observe allocates %v times per point, want 0", allocs)
	}
	allocs = testing.AllocsPerRun(1000, func() {
		d.ObserveCount(t0.Add(time.Duration(i)*step), float64(i%7))
		i++
	})
	if allocs != 0 {
		t.Errorf("ObserveCount allocates %v times per point, want 0", allocs)
	}
	cfg := DefaultConfig()
	cfg.TimeZone = "Europe/Berlin"
	dz := New(cfg)
	allocs = testing.AllocsPerRun(1000, func() {
		dz.Observe(t0.Add(time.Duration(i)*step), float64(i%17))
		i++
	})
	if allocs != 0 {
		t.Errorf("Observe in a time zone allocates %v times per point, want 0", allocs)
	}
}

// TestBytesPerSeries states the memory of one series: the Detector is one fixed-size value
// (no slices, maps or pointers into the heap besides itself and its time zone, which every
// series of an Analyzer shares), so its size is the whole cost.
func TestBytesPerSeries(t *testing.T) {
	size := unsafe.Sizeof(Detector{})
	d := New(DefaultConfig())
	for i, x := range series(5000, 14, daily) {
		d.Observe(t0.Add(time.Duration(i)*step), x)
	}
	snap, err := d.MarshalMsgpack()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bytes per series: %d in memory, %d as a msgpack snapshot", size, len(snap))
	if size > 8<<10 || len(snap) > 8<<10 {
		t.Errorf("detector is %d bytes (snapshot %d), want a few KB (<= 8 KiB)", size, len(snap))
	}
}
