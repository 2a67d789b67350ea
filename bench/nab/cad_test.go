package main

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// sawtooth repeats the levels 0..7 of a range 0..70: a pattern with one continuation per
// situation, which contextModel must learn to predict completely.
func sawtooth(i int) float64 { return float64(10 * (i % 8)) }

func TestContextLearnsARepeatingPattern(t *testing.T) {
	var m contextModel
	for i := 0; i < 400; i++ {
		m.observe(sawtooth(i), 1.0/6000)
	}
	for i := 400; i < 600; i++ {
		if s := m.observe(sawtooth(i), 1.0/6000); s != 0 {
			t.Fatalf("point %d of a learned sawtooth scores %v, want 0 (predicted)", i, s)
		}
	}
	// The pattern breaks: after level 2 comes level 6 instead of 3.
	for i := 600; i < 603; i++ {
		m.observe(sawtooth(i), 1.0/6000)
	}
	if s := m.observe(60, 1.0/6000); s < 0.5 {
		t.Errorf("a break of a learned pattern scores %v, want >= 0.5", s)
	}
}

func TestContextMemoryStaysConsistent(t *testing.T) {
	// Noise keeps making new contexts, so the slots are recycled all the time: every left side
	// must still name only live contexts, and its length must match.
	var m contextModel
	rng := rand.New(rand.NewPCG(7, 1))
	for i := 0; i < 30000; i++ {
		s := m.observe(rng.NormFloat64()+float64(i%50)/10, 1.0/6000)
		if s < 0 || s > 1 {
			t.Fatalf("point %d scores %v, want [0, 1]", i, s)
		}
		if i%1000 != 999 {
			continue
		}
		live := 0
		for j := range m.right {
			if m.right[j] == 0 {
				continue
			}
			live++
			if n := m.left[j].count(); n == 0 || n != int(m.leftLen[j]) {
				t.Fatalf("point %d: context %d has %d left facts, length says %d", i, j, n, m.leftLen[j])
			}
			checkNamesLive(t, &m, &m.left[j])
		}
		checkNamesLive(t, &m, &m.group)
		if live < ctxCap/2 {
			t.Errorf("point %d: only %d live contexts on noise, want the slots in use", i, live)
		}
	}
}

func checkNamesLive(t *testing.T, m *contextModel, s *ctxSet) {
	t.Helper()
	for j := 0; j < ctxCap; j++ {
		if s.has(ctxFacts+j) && m.right[j] == 0 {
			t.Fatalf("a left side names context %d, which is free", j)
		}
	}
}

func TestContextRangeFollowsTheSeries(t *testing.T) {
	var r contextRange
	for i := 0; i < 100; i++ {
		r.level(float64(i%2)*10, 0.01) // 0, 10, 0, 10, ...
	}
	if q := r.level(10, 0.01); q != ctxLevels-1 {
		t.Errorf("the range's top scores level %d, want %d", q, ctxLevels-1)
	}
	if q := r.level(1000, 0.01); q != ctxLevels-1 {
		t.Errorf("a value beyond the range scores level %d, want the top", q)
	}
	// The old extreme decays: after a few memory horizons the usual values span the levels again.
	for i := 0; i < 2000; i++ {
		r.level(float64(i%2)*10, 0.01)
	}
	if q := r.level(10, 0.01); q < ctxLevels/2 {
		t.Errorf("after the extreme decayed the range's top scores level %d, want the upper half", q)
	}
}

func TestContextDoesNotAllocate(t *testing.T) {
	var m contextModel
	rng := rand.New(rand.NewPCG(3, 1))
	allocs := testing.AllocsPerRun(2000, func() { m.observe(rng.NormFloat64(), 1.0/6000) })
	if allocs != 0 {
		t.Errorf("contextModel.observe allocates %v times per point, want 0", allocs)
	}
}

// BenchmarkContextModel measures one point through a warm contextModel, on a noisy daily
// cycle of 5-minute points and on white noise (allocs/op must be 0).
func BenchmarkContextModel(b *testing.B) {
	rng := rand.New(rand.NewPCG(13, 1))
	daily := make([]float64, 1<<14)
	noise := make([]float64, 1<<14)
	for i := range daily {
		daily[i] = 100 + 20*math.Sin(2*math.Pi*float64(i)/288) + rng.NormFloat64()
		noise[i] = rng.NormFloat64()
	}
	for _, c := range []struct {
		name string
		xs   []float64
	}{{"daily", daily}, {"noise", noise}} {
		b.Run(c.name, func(b *testing.B) {
			var m contextModel
			for _, x := range c.xs {
				m.observe(x, 1.0/6000)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m.observe(c.xs[i&(len(c.xs)-1)], 1.0/6000)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpoints/s")
		})
	}
}

func TestDetectCADRests(t *testing.T) {
	// A learned sawtooth, then two breaks 5 points apart: the first is reported (after the
	// first rest period, which CAD starts with), the second falls in its rest period.
	var series []point
	for i := 0; i < 400; i++ {
		series = append(series, point{v: sawtooth(i)})
	}
	first := len(series)
	series = append(series, point{v: 35})
	for i := 0; i < 4; i++ {
		series = append(series, point{v: sawtooth(i)})
	}
	second := len(series)
	series = append(series, point{v: 35}, point{v: math.NaN()})
	scores := detectCAD(series, 1.0/6000, 75)
	for i := 0; i < 75; i++ {
		if scores[i] != 0 {
			t.Fatalf("point %d of the first rest period scores %v, want 0", i, scores[i])
		}
	}
	if scores[first] < cadRest {
		t.Errorf("the first break scores %v, want >= %v", scores[first], cadRest)
	}
	if scores[second] != 0 {
		t.Errorf("a break within the rest period scores %v, want 0", scores[second])
	}
	if s := scores[len(series)-1]; s != 0 {
		t.Errorf("a NaN scores %v, want 0", s)
	}
}

// TestContextModelSize states the prototype's memory per series: one fixed-size value, which
// must fit beside pipeline/anomaly's detector (3,488 bytes) within the 16 KiB per series
// budget.
func TestContextModelSize(t *testing.T) {
	size := unsafe.Sizeof(contextModel{})
	t.Logf("contextModel: %d bytes per series", size)
	if size > 12<<10 {
		t.Errorf("contextModel is %d bytes, want <= 12 KiB", size)
	}
}
