package anomaly

import (
	"math"
	"testing"
)

// poissonReference is −ln of the Poisson tail summed term by term, each term from its own
// Lgamma (no ratios), in log space: the upper tail from v up when v ≥ lambda, the lower from v
// down otherwise, until the terms fall 60 nats below the largest.
func poissonReference(v, lambda float64) float64 {
	logTerm := func(k float64) float64 {
		lg, _ := math.Lgamma(k + 1)
		return k*math.Log(lambda) - lambda - lg
	}
	first := logTerm(v)
	sum := 0.0 // of e^(term − first)
	step := 1.0
	if v < lambda {
		step = -1
	}
	for k := v; k >= 0; k += step {
		d := logTerm(k) - first
		if d < -60 {
			break
		}
		sum += math.Exp(d)
	}
	return -(first + math.Log(sum))
}

// TestPoissonSurpriseAccuracy compares poissonSurprise with the term-by-term sum over means
// from 0.01 to 100,000 and counts out to 40 standard deviations either side of the mean, and
// above it at least to 1,000 nats. Measured: exact (to 1e-12 of the surprise) up to
// poissonExactMax; above it at most 0.037 nats off (worst just above poissonExactMax, about
// three standard deviations below the mean; 0.004 at a mean of 100,000) and 0.34% of the
// surprise beyond 10 nats, and never above −ln P(X = v).
func TestPoissonSurpriseAccuracy(t *testing.T) {
	lambdas := []float64{0.01, 0.03, 0.1, 0.3, 0.5, 1, 1.6, 2, 3, 5, 7.5, 10, 20, 29.9, 30,
		30.1, 31, 40, 50, 75, 100, 200, 300, 1000, 3000, 1e4, 3e4, 1e5}
	var worstExact, worstAbs, worstRel float64
	var atAbs, atRel [2]float64
	points := 0
	check := func(v, lambda float64) float64 {
		got, want := poissonSurprise(v, lambda), poissonReference(v, lambda)
		points++
		if math.IsNaN(got) || got < 0 {
			t.Fatalf("λ=%v v=%v: %v", lambda, v, got)
		}
		lg, _ := math.Lgamma(v + 1)
		if ceiling := -(v*math.Log(lambda) - lambda - lg); got > ceiling+1e-9*max(1, ceiling) {
			t.Errorf("λ=%v v=%v: %v nats, above −ln P(X = v) = %v", lambda, v, got, ceiling)
		}
		e := math.Abs(got - want)
		if lambda <= poissonExactMax {
			worstExact = max(worstExact, e/max(1, want))
			return want
		}
		if e > worstAbs {
			worstAbs, atAbs = e, [2]float64{lambda, v}
		}
		if want > 10 && e/want > worstRel {
			worstRel, atRel = e/want, [2]float64{lambda, v}
		}
		return want
	}
	for _, lam := range lambdas {
		sd := math.Sqrt(lam)
		stride := math.Max(1, math.Floor(sd/10))
		for v := math.Ceil(lam); ; v += stride {
			if s := check(v, lam); v > lam+40*sd && s > 1000 {
				break
			}
		}
		for v := math.Ceil(lam) - 1; v >= 0 && v >= lam-40*sd-stride; v -= stride {
			check(v, lam)
		}
		check(0, lam)
	}
	t.Logf("%d points; exact range: worst %.2g nats (relative above 1 nat); approximated: worst %.4f nats (λ=%v, v=%v), worst beyond 10 nats %.3f%% (λ=%v, v=%v)",
		points, worstExact, worstAbs, atAbs[0], atAbs[1], 100*worstRel, atRel[0], atRel[1])
	if worstExact > 1e-9 {
		t.Errorf("exact range off by %.2g, want < 1e-9", worstExact)
	}
	if worstAbs > 0.04 || worstRel > 0.004 {
		t.Errorf("approximation off by %.4f nats, %.3f%% beyond 10 nats; want at most 0.04 and 0.4%%", worstAbs, 100*worstRel)
	}
}

func TestPoissonSurpriseEdges(t *testing.T) {
	for _, lam := range []float64{0, -1.5, math.NaN()} {
		if s := poissonSurprise(3, lam); !math.IsInf(s, 1) {
			t.Errorf("λ=%v: %v, want +Inf (no bound)", lam, s)
		}
	}
	for _, lam := range []float64{0.2, 4, 1e3, 1e6} {
		if s := poissonSurprise(0, lam); math.Abs(s-lam) > 1e-12*lam {
			t.Errorf("zero at λ=%v: %v, want −ln e^−λ = λ", lam, s)
		}
	}
	// The demo tenant's doubling: a 7 at an expectation of 1.6 is a Poisson count once in
	// about 750 windows (6.62 nats), not the hundreds of nats of a 20-deviation residual.
	if s := poissonSurprise(7, 1.6); math.Abs(s-6.62) > 0.01 {
		t.Errorf("7 at 1.6: %.3f nats (once in %.0f), want 6.62 (once in about 750)", s, math.Exp(s))
	}
	if testing.AllocsPerRun(100, func() { poissonSurprise(17, 3.2); poissonSurprise(120, 400) }) != 0 {
		t.Error("poissonSurprise allocates")
	}
}

// FuzzPoissonSurprise: never NaN or negative, and monotone in v away from the mean.
func FuzzPoissonSurprise(f *testing.F) {
	f.Add(uint64(7), 1.6)
	f.Add(uint64(0), 0.01)
	f.Add(uint64(40), 30.5)
	f.Add(uint64(1e5), 1e5+0.5)
	f.Add(uint64(3), 1e9)
	f.Fuzz(func(t *testing.T, n uint64, lambda float64) {
		if math.IsInf(lambda, 0) {
			t.Skip()
		}
		v := float64(n % (1 << 53))
		s := poissonSurprise(v, lambda)
		if math.IsNaN(s) || s < 0 {
			t.Fatalf("λ=%v v=%v: %v", lambda, v, s)
		}
		if !(lambda > 0) {
			return
		}
		// One step further from the mean is at least as surprising.
		var next float64
		switch {
		case v >= lambda && v+1 < 1<<53:
			next = poissonSurprise(v+1, lambda)
		case v < lambda && v >= 1:
			next = poissonSurprise(v-1, lambda)
		default:
			return
		}
		if next < s-1e-9*max(1, s) {
			t.Fatalf("λ=%v: v=%v scores %v, one further from the mean %v", lambda, v, s, next)
		}
	})
}
