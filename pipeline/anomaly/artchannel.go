package anomaly

import (
	"errors"
	"fmt"
	"math"
)

// artChannel is the shape channel: an ARTime-like detector (M. Hampton's ARTime, rebuilt as a
// stream with no lookahead; bench/nab/README.md, round 4b). The series is cut into blocks of
// artStep points, each reduced to one value (its extreme on the side away from a running
// average, or its mean when the extreme is within 10% of it); that value is normalised by a
// running range, quantised to artLevels levels and snapped to the running median when close
// to it; the last artWindow block values and their shape (the window min-max scaled, Haar
// transformed, min-max scaled) are presented to a dual-vigilance fuzzy ART network (art.go). A
// window that starts a new cluster is the channel's report, unless it follows a recent one
// without matching worse.
//
// What it adds to the other channels is memory of whole shapes over hours (a window spans
// artWindow·artStep points) that the series has produced, however long ago, up to the
// network's bound; the forecaster and the point novelty forget at their rates.
//
// A report's surprise is −ln of the series' rate of shape reports per point (an EWMA over
// Memory points, starting at one report per probation): a series that produces new shapes
// every day learns that they are not news. Its score is then set beside the other channels'
// (Detector.Observe).
type artChannel struct {
	points int64
	blocks int64 // blocks completed

	// The current block.
	bn               int
	bsum, bmin, bmax float64
	avg              float64 // running average of block means (ARTime's: halved each block)

	lo, hi float64 // the running range

	hist  [artLevels + 1]uint32 // the levels' counts, for the running median
	histN uint32

	win  [artWindow]float64 // the last block values, a ring
	head int

	net artNet

	// Vigilance adaptation (adapt).
	meanA      float64 // running mean of the best match
	probSum    float64 // sum of the matches of the probation's second half
	probN      int64
	sims       [artProbation/2 + 1]float64 // the last matches, a ring
	shortfalls [artProbation + 1]float64   // the last (upper vigilance − match), a ring
	simHead    int
	sfHead     int

	lastAnom, lastRho int64 // blocks of the last report and the last vigilance update
	maskAfterCat      bool  // new clusters were made recently: reports must undercut the last
	quietCats         int64 // blocks since the last new cluster
	anomSum           float64
	anomN             int64
	anomLast          float64 // the last report's match, lowered to its excursion's lowest
	lastAnomSim       float64 // the last report's match, which a masked report must undercut

	rate float64 // reports per point (EWMA over Memory points)
}

// ARTime's structure and constants, kept as published (bench/nab/README.md, round 4b: a prior
// from outside the protocol; the structural alternatives tried are decisions 122–127).
const (
	artStep      = 6                      // points per block
	artWindow    = 8                      // block values per window (a power of two: Haar)
	artProbation = 13 * artWindow         // blocks: ARTime's 13 windows per probation
	artMask      = artWindow * 3 / 2      // blocks after a report in which another must undercut it
	artLevels    = 80                     // quantisation levels of a normalised block value
	artChomp     = 0.075                  // a value this close to the running median is the median
	artSpike     = 0.1                    // a block's extreme counts only this far (relative) from its mean
	artRho0      = 0.8                    // vigilance during the probation
	artUbCap     = 0.97                   // the upper vigilance never exceeds this
	artRaise     = 0.19                   // share of the gap to the lowest recent match the lower vigilance rises by
	artShortMin  = 0.05                   // a match this far below the upper vigilance is a shortfall
	artShortCap  = 0.37                   // a shortfall counts at most this much
	artLowerStep = 0.01                   // the lower vigilance falls by at least half this
	artMasked    = 0.90                   // inside the mask, a report must match this much worse than the last
	artUnmasked  = 0.70                   // while clusters are new, a report must match this much worse
	artProbPts   = artProbation * artStep // the probation in points
)

// observe folds a finite value in and returns the surprise of a shape report on this point, or
// 0. memory is Config.Memory.
func (c *artChannel) observe(v float64, memory int) float64 {
	if c.points == 0 {
		c.lastAnom = math.MinInt32
		c.rate = 1.0 / artProbPts
		for i := range c.sims {
			c.sims[i] = 1
		}
		c.net.lb, c.net.ub = artRho0, artRho0
	}
	c.points++
	c.scale(v, memory)
	if c.bn == 0 {
		c.bsum, c.bmin, c.bmax = 0, v, v
	}
	c.bn++
	c.bsum += v
	c.bmin, c.bmax = min(c.bmin, v), max(c.bmax, v)
	var s float64
	if c.bn == artStep {
		c.bn = 0
		if c.block(memory) {
			s = -math.Log(c.rate)
		}
	}
	c.rate += (indicator(s > 0) - c.rate) / float64(memory)
	return s
}

// scale folds v into the running range, whose edges each move toward the other by the span
// over Memory per point, so that one old extreme does not flatten the series for ever.
func (c *artChannel) scale(v float64, memory int) {
	if c.points == 1 {
		c.lo, c.hi = v, v
		return
	}
	d := (c.hi - c.lo) / float64(memory)
	c.lo, c.hi = min(c.lo+d, v), max(c.hi-d, v)
}

// block reduces the completed block to one value, updates the window and presents it; it
// reports whether the window is a shape report.
func (c *artChannel) block(memory int) bool {
	mean := c.bsum / artStep
	if c.blocks == 0 {
		c.avg = mean
	}
	c.avg = (c.avg + mean) / 2
	ds := c.bmax
	if math.Abs(c.bmax-c.avg) < math.Abs(c.bmin-c.avg) {
		ds = c.bmin // a spike below
	}
	if math.Abs(ds-mean) < artSpike*math.Abs(mean) {
		ds = mean
	}
	ds -= c.lo
	if r := c.hi - c.lo; r > 0 {
		ds /= r
	}
	if !(ds > 0) { // NaN too: values near ±MaxFloat64 overflow the span to Inf
		ds = 0
	}
	level := int(math.Round(min(1, ds) * artLevels))
	med := c.median(level)
	ds = float64(level) / artLevels
	if m := float64(med) / artLevels; math.Abs(ds-m) < artChomp {
		ds = m
	}
	c.win[c.head] = ds
	c.head = (c.head + 1) % artWindow
	c.blocks++
	if c.blocks < artWindow {
		return false
	}
	var x [artDim]uint8
	c.features(&x)
	return c.detect(&x, memory)
}

// median counts level and returns the running median level. Counts are halved when they grow
// large, so that the median follows a series whose level moves.
func (c *artChannel) median(level int) int {
	c.hist[level]++
	c.histN++
	if c.histN >= 1<<20 {
		c.histN = 0
		for i := range c.hist {
			c.hist[i] /= 2
			c.histN += c.hist[i]
		}
	}
	half, acc := (c.histN+1)/2, uint32(0)
	for i, n := range c.hist {
		acc += n
		if acc >= half {
			return i
		}
	}
	return artLevels
}

// features writes the window's shape (min-max scaled, Haar transformed, min-max scaled) and
// its values, oldest first, into x.
func (c *artChannel) features(x *[artDim]uint8) {
	var shape [artWindow]float64
	for i := range shape {
		shape[i] = c.win[(c.head+i)%artWindow]
	}
	minMax(shape[:])
	haar(&shape)
	minMax(shape[:])
	for i := range shape {
		x[i] = quantise(shape[i])
		x[artWindow+i] = quantise(c.win[(c.head+i)%artWindow])
	}
}

func quantise(f float64) uint8 { return uint8(math.Round(min(1, max(0, f)) * 255)) }

// minMax scales xs to [0, 1] by its own range (only shifted when flat).
func minMax(xs []float64) {
	lo, hi := xs[0], xs[0]
	for _, x := range xs {
		lo, hi = min(lo, x), max(hi, x)
	}
	for i := range xs {
		xs[i] -= lo
		if hi > lo {
			xs[i] /= hi - lo
		}
	}
}

// haar replaces xs by its full orthonormal Haar decomposition: the overall average first,
// then the details from coarsest to finest.
func haar(xs *[artWindow]float64) {
	var tmp [artWindow]float64
	for n := artWindow; n > 1; n /= 2 {
		h := n / 2
		for i := 0; i < h; i++ {
			a, b := xs[2*i], xs[2*i+1]
			tmp[i] = (a + b) / math.Sqrt2
			tmp[h+i] = (a - b) / math.Sqrt2
		}
		copy(xs[:n], tmp[:n])
	}
}

// detect presents window x (block c.blocks) and reports whether it is a shape report.
func (c *artChannel) detect(x *[artDim]uint8, memory int) bool {
	i := c.blocks
	afterAnom := i - c.lastAnom
	rhoAfterAnom := afterAnom == artMask
	rhoForTrend := i-c.lastRho >= artProbation/2
	masked := afterAnom <= artMask
	if i > artProbation+artMask && c.maskAfterCat && c.quietCats >= artMask {
		c.maskAfterCat = false
	}
	a, novel, ok := c.net.present(x, uint32(i))
	if !ok {
		return false
	}
	if novel {
		c.quietCats = 0
	} else {
		c.quietCats++
	}
	c.meanA += (a - c.meanA) * rate(artStep/float64(memory), i-artWindow)
	c.sims[c.simHead] = a
	c.simHead = (c.simHead + 1) % len(c.sims)
	c.shortfalls[c.sfHead] = c.net.ub - a
	c.sfHead = (c.sfHead + 1) % len(c.shortfalls)
	if afterAnom < artMask && c.anomN > 0 && a < c.anomLast {
		c.anomSum += a - c.anomLast // the excursion's lowest match stands for it
		c.anomLast = a
	}

	if i <= artProbation {
		// Learn at the initial vigilance; at the end, start both vigilances at the mean match
		// of the probation's second half (ARTime estimates it the same way, from a batch).
		if i >= artProbation/2 {
			c.probSum += a
			c.probN++
		}
		if i == artProbation && c.probN > 0 {
			r := c.probSum / float64(c.probN)
			c.net.lb, c.net.ub = r, r
			c.lastRho = i
		}
		return false
	}

	ratio := artUnmasked
	if masked {
		ratio = artMasked
	}
	report := novel && (!(c.maskAfterCat || masked) || a < c.lastAnomSim*ratio)
	if report {
		c.anomSum += a
		c.anomN++
		c.anomLast = a
		c.lastAnomSim = a
		c.lastAnom = i
	}
	c.maskAfterCat = c.maskAfterCat || novel
	if rhoAfterAnom || rhoForTrend {
		c.adapt(i)
	}
	return report
}

// adapt moves the vigilances: the upper to the mean match (capped), the lower up toward the
// lowest recent match, or down by the recent shortfalls, never below past reports' mean match.
func (c *artChannel) adapt(i int64) {
	low := c.sims[0]
	for _, v := range c.sims {
		low = min(low, v)
	}
	ub := min(artUbCap, c.meanA)
	lb := c.net.lb
	if lb <= low {
		lb += (low - lb) * artRaise
	} else {
		decr := 0.0
		if i > 2*artProbation {
			var sum float64
			var n int
			for _, d := range c.shortfalls {
				if d > artShortMin {
					sum += min(artShortCap, d)
					n++
				}
			}
			if n > 0 {
				decr = sum / float64(n)
			}
		}
		lb -= max(artLowerStep, decr) / 2
		if c.anomN > 0 {
			lb = max(lb, c.anomSum/float64(c.anomN))
		}
	}
	c.net.lb, c.net.ub = min(ub, lb), ub
	c.lastRho = i
	c.maskAfterCat = true
}

// check refuses a restored state the channel could not run on: counters and ring positions
// out of range, a category count beyond the network, a rate that −ln would turn into Inf.
func (c *artChannel) check() error {
	switch {
	case c.points < 0 || c.blocks < 0 || c.probN < 0 || c.anomN < 0 || c.quietCats < 0:
		return errors.New("negative counter")
	case c.bn < 0 || c.bn >= artStep || c.head < 0 || c.head >= artWindow ||
		c.simHead < 0 || c.simHead >= len(c.sims) || c.sfHead < 0 || c.sfHead >= len(c.shortfalls):
		return errors.New("ring position out of range")
	case c.net.n < 0 || c.net.n > artCategories:
		return fmt.Errorf("%d categories, want at most %d", c.net.n, artCategories)
	case c.points > 0 && !(c.rate > 0 && c.rate <= 1):
		return fmt.Errorf("report rate %v, want in (0, 1]", c.rate)
	}
	return nil
}
