package anomaly

// The body of a series is the values it produces all the time. The pattern channel (novelty.go)
// is there to see what the forecaster misses — a cycle that does not happen, a value that gets
// stuck, a new oscillation, a level never visited — and at a value in the middle of the series'
// own values it has nothing of its own to say: the novelty of such a point's context comes from
// the levels earlier in it, which were judged when they happened. Left to speak there, it
// reports the return to normal after a spike as a second event, named a pattern, and a metric
// that has been constant since its first point as stuck each time its run doubles. So the pattern
// channel does not speak for a value in the body (bench/nab/DECISIONS.md 293–295). A value frozen
// there (a stuck sensor or a stalled job at an ordinary value) is news, but it is the stuck
// channel's (stuck.go), which judges the run and keeps the pattern channel silent meanwhile, so
// the body makes no exception for it (bench/nab/DECISIONS.md 331).
//
// A value is in the body when at least bodyShare of the series' values lie as far from the slow
// centre on its side, or farther (the value tail's histogram, before the value counts): inside
// the series' 10th to 90th percentiles, the range a user reads as "p10–p90". A repeat is rare on
// a series whose values repeat less often than that: on a series of small counts, a quantised
// gauge or a constant, where repeats are the rule, a repeat is no news (stuck.go).

// bodyShare is the share of a series' values that must lie at least as far out as a value, on its
// side, for the value to be in the body; and the share of repeats below which a repeat is rare.
const bodyShare = 0.1

// inBody reports whether v, not yet observed, lies in the body of the series: at least bodyShare
// of its values as far from centre c on v's side, or farther (bins of spread w), once the
// histogram has minEvidence points.
func (t *valueTail) inBody(v, c, w float64) bool {
	return t.n > minEvidence && t.beyond(t.bin(v, c, w), v > c) > bodyShare
}
