package main

import (
	"math"
	"math/rand/v2"
)

// poisson draws a Poisson(lam) count: by Knuth's product of uniforms for a small mean, and
// by the normal approximation, rounded, above 30, where it is within the counts' own noise.
func poisson(r *rand.Rand, lam float64) float64 {
	if lam <= 0 {
		return 0
	}
	if lam > 30 {
		return math.Max(0, math.Round(lam+math.Sqrt(lam)*r.NormFloat64()))
	}
	l, k, p := math.Exp(-lam), 0.0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// gamma draws a Gamma(shape, 1) variate (mean shape) by Marsaglia and Tsang's method, with
// the usual boost for a shape below 1.
func gamma(r *rand.Rand, shape float64) float64 {
	if shape < 1 {
		return gamma(r, shape+1) * math.Pow(r.Float64(), 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := r.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := r.Float64()
		if math.Log(u) < 0.5*x*x+d-d*v+d*math.Log(v) {
			return d * v
		}
	}
}
