package anomaly

import (
	"math"
	"math/bits"
)

// novelty is the contextual novelty model: it quantises each value against a slow reference, keeps the
// recent sequence of levels, and remembers the short sequences it has seen. A point whose
// recent shape has never been seen before is novel, however small its residual. This is the
// idea behind the strongest simple detectors on NAB (contextOSE, knncad, ARTime): what is
// anomalous is a pattern the series has not produced before, not only a large deviation. It
// catches what a forecaster misses: a daily pattern that fails to happen, a value that gets
// stuck, an oscillation of a new shape, a level never visited before.
//
// State is fixed: the reference (2 numbers), the last ctxOrder levels and a set of
// fingerprints of ctxSlots entries (2 KB), so old contexts are forgotten as new ones arrive.
type novelty struct {
	n      int64
	center float64 // slow reference mean
	spread float64 // slow reference mean absolute deviation

	hist [ctxOrder]int8   // last distinct levels, hist[0] most recent
	run  int32            // points spent at hist[0]
	last uint64           // hash of the current context; unchanged contexts are not re-scored
	seen [ctxSlots]uint16 // fingerprints of contexts seen; 0 marks an empty way
}

const (
	// ctxOrder is the longest context, in distinct levels. Five level changes span one cycle
	// of most shapes (rise, plateau, fall, trough) at the quantisation below. (Measured on NAB:
	// both halves of the dev split prefer 5 over 4 and 6.)
	ctxOrder = 5
	// ctxWidth is the width of a quantisation level in reference mean absolute deviations
	// (measured on NAB: at 1 or 2 noise keeps producing new contexts; 4 leaves a handful of
	// levels across the usual range, the granularity of contextOSE's 3-bit quantisation).
	ctxWidth = 4
	// ctxHalf bounds the quantised level to ±ctxHalf levels (±24 deviations); beyond that every
	// value is "extreme" in the same way, so one outlier does not create a family of contexts.
	ctxHalf = 6
	// ctxSlots is the size of the fingerprint set (power of two). At ctxOrder contexts per
	// change (and as many pasts), 1024 slots remember ~100 distinct recent shapes.
	ctxSlots = 1024
)

// observe folds v in and returns the fraction of this point's contexts (of lengths 1 to
// ctxOrder) that are new continuations of a known past, in [0, 1]. It is 0 while the context
// is unchanged. Runs longer than longRun points (the report rule's horizon, Quiet) count as one
// run length. held says v repeats the point before: it keeps the level that point was given.
func (c *novelty) observe(v, refRate float64, longRun int, held bool) float64 {
	c.n++
	r := rate(refRate, c.n)
	c.center += r * (v - c.center)
	c.spread += r * (math.Abs(v-c.center) - c.spread)
	if c.n == 1 {
		return 0 // the first point is the reference itself: level 0, where hist starts
	}
	// Levels are ctxWidth reference deviations wide: coarse enough that noise mostly stays
	// within a level or two (so ordinary wiggles repeat known contexts), fine enough that a
	// daily cycle spans several levels.
	w := ctxWidth * c.spread
	if w <= 0 {
		w = 1e-9 + 1e-6*math.Abs(c.center)
	}
	q := math.Floor((v - c.center) / w)
	level := int8(math.Max(-ctxHalf, math.Min(ctxHalf, q)))
	// A value held (a setting, a stop's zeros) has not moved; only the reference has, as it
	// learns the value. Quantised afresh, a setting changed and held walks down the levels
	// while the reference closes in. From a constant (no spread before the change) the gap
	// shrinks as (1 − r)^t and the spread it feeds grows as r·t·(1 − r)^t, so their ratio is
	// 1/(r·t) whatever the change's size: level k above the reference gives way after
	// Memory/(ctxWidth·k) points (r = 1/Memory past the first Memory points), level −k below it,
	// by the floor, after Memory/(ctxWidth·(k − 1)), and −1 stays. A spread before the change
	// adds to the spread and speeds the walk for a change small against it. Each step is a new
	// context after a known past, reported as a pattern the series never made
	// (bench/nab/DECISIONS.md 401). Kept, the level is the one the run's first point was given,
	// however far the reference moves towards the value while it holds; the next value is
	// quantised afresh. It holds on every series: the walk is the reference's whatever the share of
	// repeats, and where repeats are not the rule the stuck channel's silence (stuck.go) covers only
	// a run it prices, not a stop's zeros, nor a run in the series' first minEvidence points
	// (bench/nab/DECISIONS.md 431: held only where repeats were the rule, a CPU stopped for two
	// days paged as a pattern 339 to 500 points in).
	if held {
		level = c.hist[0]
	}

	if level != c.hist[0] {
		copy(c.hist[1:], c.hist[:ctxOrder-1])
		c.hist[0] = level
		c.run = 0
	}
	if c.run < math.MaxInt32 {
		c.run++
	}
	// The context is the current run length (log2 bucket: 1, 2-3, 4-7, ...) followed by the
	// levels; the run length is what makes "stuck at a level for unusually long" a new context.
	// The buckets stop at the one holding longRun: the report rule judges an episode over Quiet
	// points, and a series that has held one level for longer than that is where it was, not
	// somewhere new, so the doublings of its run are not new shapes (bench/nab/DECISIONS.md 297).
	bucket := min(bits.Len32(uint32(c.run)), bits.Len32(uint32(longRun)))
	h := mix(0x9e3779b97f4a7c15, uint64(bucket))
	first := mix(h, uint64(uint8(c.hist[0])))
	if first == c.last {
		return 0 // same level, same run bucket: nothing new to look up
	}
	c.last = first
	// A context counts as novel only when its past part (the levels before the current one)
	// is known and this continuation of it is not: a known situation going somewhere it has
	// never gone. Contexts whose past is itself new are not evidence of anything yet; on noise
	// the long contexts are all new, and counting them made noise look novel.
	novel := 0
	past := uint64(0x5bd1e9955bd1e995) // a separate hash chain over hist[1:]
	for i := 0; i < ctxOrder; i++ {
		h = mix(h, uint64(uint8(c.hist[i])))
		pastKnown := true // the empty past of the length-1 context
		if i > 0 {
			past = mix(past, uint64(uint8(c.hist[i])))
			pastKnown = c.lookupInsert(past)
		}
		if !c.lookupInsert(h) && pastKnown {
			novel++
		}
	}
	return float64(novel) / ctxOrder
}

// spreadFloor returns the reference spread, kept away from zero as the forecaster's deviation
// is (devFloor), so that on a constant series a change by a hair is not beyond it by a margin.
func (c *novelty) spreadFloor() float64 {
	return math.Max(c.spread, 1e-3*math.Abs(c.center)+1e-9)
}

// lookupInsert reports whether fingerprint h was present, and inserts it. The set is 2-way
// associative: a miss fills an empty way or evicts one chosen by a hash bit.
func (c *novelty) lookupInsert(h uint64) bool {
	i := int(h&(ctxSlots-1)) &^ 1
	// 16-bit fingerprints: a false match needs the same slot pair (1 in 512) and the same
	// fingerprint (2 in 65536), rare enough not to hide real novelty, at half the memory.
	fp := uint16(h>>48) | 1
	if c.seen[i] == fp || c.seen[i+1] == fp {
		return true
	}
	switch {
	case c.seen[i] == 0:
		c.seen[i] = fp
	case c.seen[i+1] == 0:
		c.seen[i+1] = fp
	default:
		c.seen[i+int(h>>31)&1] = fp
	}
	return false
}

// mix folds x into h (a 64-bit multiply-xorshift finaliser, as in splitmix64).
func mix(h, x uint64) uint64 {
	h ^= x + 0x9e3779b97f4a7c15 + (h << 6) + (h >> 2)
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}
