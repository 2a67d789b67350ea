package anomaly

import "math"

// poissonSurprise is how surprising a count v is for a Poisson count of mean lambda:
// −ln P(X ≥ v) when v ≥ lambda, −ln P(X ≤ v) when v < lambda, X ~ Poisson(lambda). It bounds the
// residual of a series of counts (Detector.ObserveCount): a count of independent events is at
// best Poisson at its mean (over-dispersion only widens it), so a surprise above its Poisson
// tail overstates how rare it is. The forecaster's normal approximation does exactly that on a
// young series of small counts, whose deviation is a mean of a few whole-number residuals.
//
// v must be a non-negative whole number. For lambda ≤ 0 (or NaN) there is no Poisson count to
// compare with and no bound: +Inf.
//
// Exact for lambda up to poissonExactMax (one Lgamma, then the ratios of neighbouring terms);
// above, the Wilson–Hilferty approximation of the equivalent gamma tail, held between bounds
// on the exact probability that follow from the terms' ratios, so that far in the tails (where
// the approximation drifts) the result is within a nat or two of exact and never above
// −ln P(X = v): it never says a count is rarer than the count itself. Accuracy against the
// term-by-term sum: poisson_test.go. No allocation.
func poissonSurprise(v, lambda float64) float64 {
	if !(lambda > 0) {
		return math.Inf(1)
	}
	if v == 0 {
		return lambda // v < λ: P(X ≤ 0) = e^−λ exactly, whatever λ
	}
	// ln P(X = v), the tail's first term.
	lg, _ := math.Lgamma(v + 1)
	logp := v*math.Log(lambda) - lambda - lg
	if lambda <= poissonExactMax {
		return -(logp + math.Log(poissonTermSum(v, lambda)))
	}
	// The tail's terms fall at least geometrically from P(X = v), at the ratio r of the first
	// two, so P(X = v) ≤ tail ≤ P(X = v)/(1 − r).
	var wh, r float64
	if v >= lambda {
		// P(X ≥ v) = P(Γ(v) ≤ λ); Wilson–Hilferty: (Γ(a)/a)^⅓ ≈ N(1 − 1/(9a), 1/(9a)).
		wh = normalTailSurprise(-wilsonHilferty(lambda, v))
		r = lambda / (v + 1)
	} else {
		// P(X ≤ v) = P(Γ(v+1) > λ).
		wh = normalTailSurprise(wilsonHilferty(lambda, v+1))
		r = v / lambda
	}
	hi := -logp
	lo := hi + math.Log1p(-r)
	return max(0, min(hi, max(lo, wh)))
}

// poissonExactMax is the largest mean whose tail is summed term by term: up to it the sum needs
// at most about a hundred terms (the tail within eight standard deviations of the mean, √30 ≈
// 5.5 each); above it the Wilson–Hilferty approximation is within a few hundredths of a nat
// where it matters (poisson_test.go).
const poissonExactMax = 30

// poissonTermSum returns P(tail)/P(X = v): 1 + the ratios of each further term of the tail
// (upward from v when v ≥ lambda, downward otherwise) to P(X = v), summed until a term falls
// below 1e-12 of the sum.
func poissonTermSum(v, lambda float64) float64 {
	sum, term := 1.0, 1.0
	if v >= lambda {
		for k := v + 1; ; k++ {
			term *= lambda / k
			sum += term
			if term < 1e-12*sum {
				return sum
			}
		}
	}
	for k := v; k >= 1; k-- {
		term *= k / lambda
		sum += term
		if term < 1e-12*sum {
			break
		}
	}
	return sum
}

// wilsonHilferty returns the standard normal deviate of x under Γ(a, 1) in the Wilson–Hilferty
// cube-root approximation: P(Γ(a) ≤ x) ≈ Φ(z).
func wilsonHilferty(x, a float64) float64 {
	return (math.Cbrt(x/a) - 1 + 1/(9*a)) * 3 * math.Sqrt(a)
}
