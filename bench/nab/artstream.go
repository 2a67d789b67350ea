package main

import "math"

// artConfig holds the ART detector's structural choices (bench/nab/README.md, round 4b).
type artConfig struct {
	step       int  // points per block: each block is reduced to one value
	window     int  // block values per feature window (a power of two: the Haar transform)
	categories int  // the network's category bound
	memory     int  // points: the horizon of the slow statistics (anomaly.Config.Memory)
	rangeDecay bool // the running range forgets its extremes at 1/memory per point
	rangeFixed bool // the range stops moving at the end of the probation (values clip)
	peaks      bool // de-duplicate by weir's report rule (slidingMax), not ARTime's mask
}

func defaultARTConfig() artConfig {
	return artConfig{step: 6, window: 8, categories: 128, memory: 6000, rangeDecay: true}
}

// ARTime's constants, kept as published (README, round 4b: a prior from outside the protocol).
const (
	artLevels        = 80    // quantisation levels of a normalised block value
	artChomp         = 0.075 // a value this close to the running median is the median
	artSpikeShare    = 0.1   // a block's extreme counts only if this far (relative) from its mean
	artWindowsPerPB  = 13    // feature windows per probation
	artInitialRho    = 0.8   // vigilance during the probation
	artUbCap         = 0.97  // the upper vigilance never exceeds this
	artRaise         = 0.19  // share of the gap to the lowest recent match the lower vigilance rises by
	artShortfallMin  = 0.05  // a match this far below the upper vigilance counts as a shortfall
	artShortfallCap  = 0.37  // a shortfall counts at most this much
	artLowerMin      = 0.01  // the lower vigilance falls by at least half this
	artMaskedRatio   = 0.90  // inside the mask, a report must match this much worse than the last
	artUnmaskedRatio = 0.70  // while categories are new, a report must match this much worse
)

// artStream is an ARTime-like detector over one series, as a stream: no lookahead, bounded
// state, nothing allocated per point (the slices are sized at construction).
type artStream struct {
	c         artConfig
	probation int // blocks
	mask      int // blocks: 1.5 windows
	points    int

	// The current block.
	bn               int
	bsum, bmin, bmax float64
	avg              float64 // running average of block means, halved each block (ARTime's)

	// The running range.
	lo, hi float64

	// The running median of the levels.
	hist  [artLevels + 1]uint32
	histN uint32

	blocks int       // blocks completed
	win    []float64 // the last window block values, a ring
	head   int
	shape  []float64 // scratch: the window in order, then its Haar transform
	tmp    []float64
	x      []uint8 // the features, quantised

	net *artNet

	// Vigilance adaptation.
	meanA      float64 // running mean of the best match (equal weights, then an EWMA)
	meanN      int
	probSum    float64 // sum of matches in the probation's second half
	probN      int
	sims       []float64 // the last probation/2+1 matches, a ring
	shortfalls []float64 // the last probation+1 (ub − match), a ring
	simHead    int
	sfHead     int

	lastAnom, lastRho int
	maskAfterCat      bool
	quietCats         int // blocks since the last novel category
	anomSum           float64
	anomN             int
	anomLast          float64 // the last past anomaly's match, lowered to its excursion's lowest
	lastAnomSim       float64 // the last report's match, which a masked report must undercut
}

func newARTStream(c artConfig) *artStream {
	dim := 2 * c.window
	s := &artStream{
		c:         c,
		probation: artWindowsPerPB * c.window,
		mask:      c.window * 3 / 2,
		win:       make([]float64, c.window),
		shape:     make([]float64, c.window),
		tmp:       make([]float64, c.window),
		x:         make([]uint8, dim),
		net:       newARTNet(dim, c.categories),
		lastAnom:  math.MinInt32 / 2,
	}
	s.sims = make([]float64, s.probation/2+1)
	for i := range s.sims {
		s.sims[i] = 1
	}
	s.shortfalls = make([]float64, s.probation+1)
	s.net.lb, s.net.ub = artInitialRho, artInitialRho
	return s
}

// observe folds a finite value in and returns its anomaly confidence in (0, 1], or 0: only
// the last point of a block can be reported.
func (s *artStream) observe(v float64) float64 {
	s.points++
	s.scale(v)
	if s.bn == 0 {
		s.bsum, s.bmin, s.bmax = 0, v, v
	}
	s.bn++
	s.bsum += v
	s.bmin, s.bmax = min(s.bmin, v), max(s.bmax, v)
	if s.bn < s.c.step {
		return 0
	}
	s.bn = 0
	return s.block()
}

// scale folds v into the running range.
func (s *artStream) scale(v float64) {
	if s.points == 1 {
		s.lo, s.hi = v, v
		return
	}
	if s.c.rangeFixed && s.points > s.probationPoints() {
		return
	}
	if s.c.rangeDecay {
		d := (s.hi - s.lo) / float64(s.c.memory)
		s.lo += d
		s.hi -= d
	}
	s.lo, s.hi = min(s.lo, v), max(s.hi, v)
}

// block reduces the completed block to one value, updates the features and presents them.
func (s *artStream) block() float64 {
	mean := s.bsum / float64(s.c.step)
	if s.blocks == 0 {
		s.avg = mean
	}
	s.avg = (s.avg + mean) / 2
	ds := s.bmax
	if math.Abs(s.bmax-s.avg) < math.Abs(s.bmin-s.avg) {
		ds = s.bmin // a spike below
	}
	if math.Abs(ds-mean) < artSpikeShare*math.Abs(mean) {
		ds = mean
	}
	ds -= s.lo
	if r := s.hi - s.lo; r > 0 {
		ds /= r
	}
	ds = min(1, max(0, ds))
	level := int(math.Round(ds * artLevels))
	med := s.median(level)
	ds = float64(level) / artLevels
	if m := float64(med) / artLevels; math.Abs(ds-m) < artChomp {
		ds = m
	}
	s.win[s.head] = ds
	s.head = (s.head + 1) % len(s.win)
	s.blocks++
	if s.blocks < s.c.window {
		return 0
	}
	s.features()
	return s.detect(s.blocks)
}

// median counts level and returns the running median level. Counts are halved when they
// grow large, so that the median follows a series whose level moves.
func (s *artStream) median(level int) int {
	s.hist[level]++
	s.histN++
	if s.histN >= 1<<20 {
		s.histN = 0
		for i := range s.hist {
			s.hist[i] /= 2
			s.histN += s.hist[i]
		}
	}
	half, acc := (s.histN+1)/2, uint32(0)
	for i, c := range s.hist {
		acc += c
		if acc >= half {
			return i
		}
	}
	return artLevels
}

// features writes the window's shape (min-max scaled, Haar-transformed, min-max scaled) and
// its values into s.x.
func (s *artStream) features() {
	n := len(s.win)
	for i := 0; i < n; i++ {
		s.shape[i] = s.win[(s.head+i)%n]
	}
	minMax(s.shape)
	haar(s.shape, s.tmp)
	minMax(s.shape)
	for i := 0; i < n; i++ {
		s.x[i] = quantise(s.shape[i])
		s.x[n+i] = quantise(s.win[(s.head+i)%n])
	}
}

func quantise(f float64) uint8 { return uint8(math.Round(min(1, max(0, f)) * 255)) }

// minMax scales xs to [0, 1] by its own range (unchanged but shifted when flat).
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

// haar replaces xs (a power of two long) by its full orthonormal Haar decomposition: the
// overall average first, then the details from coarsest to finest.
func haar(xs, tmp []float64) {
	for n := len(xs); n > 1; n /= 2 {
		h := n / 2
		for i := 0; i < h; i++ {
			a, b := xs[2*i], xs[2*i+1]
			tmp[i] = (a + b) / math.Sqrt2
			tmp[h+i] = (a - b) / math.Sqrt2
		}
		copy(xs[:n], tmp[:n])
	}
}

// detect presents the features of block i and returns the confidence of a report, or 0.
func (s *artStream) detect(i int) float64 {
	afterAnom := i - s.lastAnom
	rhoAfterAnom := afterAnom == s.mask
	rhoForTrend := i-s.lastRho >= s.probation/2
	masked := afterAnom <= s.mask
	if i > s.probation+s.mask && s.maskAfterCat && s.quietCats >= s.mask {
		s.maskAfterCat = false
	}
	a, ae, novel, ok := s.net.present(s.x, uint32(i), true)
	if !ok {
		return 0
	}
	if novel {
		s.quietCats = 0
	} else {
		s.quietCats++
	}
	s.meanN++
	s.meanA += (a - s.meanA) / float64(min(s.meanN, s.c.memory/s.c.step))
	s.sims[s.simHead] = a
	s.simHead = (s.simHead + 1) % len(s.sims)
	s.shortfalls[s.sfHead] = s.net.ub - a
	s.sfHead = (s.sfHead + 1) % len(s.shortfalls)
	if afterAnom < s.mask && s.anomN > 0 && a < s.anomLast {
		s.anomSum += a - s.anomLast // the excursion's lowest match stands for it
		s.anomLast = a
	}

	if i <= s.probation {
		// Learn at the initial vigilance; at the end, start both vigilances at the mean match
		// of the probation's second half (ARTime estimates it the same way, from a batch).
		if i >= s.probation/2 {
			s.probSum += a
			s.probN++
		}
		if i == s.probation && s.probN > 0 {
			r := s.probSum / float64(s.probN)
			s.net.lb, s.net.ub = r, r
			s.lastRho = i
		}
		return 0
	}

	var conf float64
	if s.c.peaks {
		if novel {
			conf = s.confidence(a, ae)
		}
	} else {
		ratio := artUnmaskedRatio
		if masked {
			ratio = artMaskedRatio
		}
		if novel && (!(s.maskAfterCat || masked) || a < s.lastAnomSim*ratio) {
			conf = s.confidence(a, ae)
			s.anomSum += a
			s.anomN++
			s.anomLast = a
			s.lastAnomSim = a
			s.lastAnom = i
		}
	}
	s.maskAfterCat = s.maskAfterCat || novel
	if rhoAfterAnom || rhoForTrend {
		s.adapt(i)
	}
	return conf
}

// confidence is ARTime's score of a novel window: how far below each vigilance the match
// fell, relative to how far it could, plus the energy's shortfall.
func (s *artStream) confidence(a, ae float64) float64 {
	a = min(a, 0.999)
	ub := (s.net.ub - a) / (1 - a)
	lb := (s.net.lb - a) / (1 - a)
	return min(1, 0.35*ub+0.65*lb+1.5*(1-ae))
}

// adapt moves the vigilances: the upper to the mean match (capped), the lower up toward the
// lowest recent match, or down by the recent shortfalls, never below past anomalies' mean.
func (s *artStream) adapt(i int) {
	low := s.sims[0]
	for _, v := range s.sims {
		low = min(low, v)
	}
	ub := min(artUbCap, s.meanA)
	lb := s.net.lb
	if lb <= low {
		lb += (low - lb) * artRaise
	} else {
		decr := 0.0
		if i > 2*s.probation {
			var sum float64
			var n int
			for _, d := range s.shortfalls {
				if d > artShortfallMin {
					sum += min(artShortfallCap, d)
					n++
				}
			}
			if n > 0 {
				decr = sum / float64(n)
			}
		}
		lb -= max(artLowerMin, decr) / 2
		if s.anomN > 0 {
			lb = max(lb, s.anomSum/float64(s.anomN))
		}
	}
	s.net.lb, s.net.ub = min(ub, lb), ub
	s.lastRho = i
	s.maskAfterCat = true
}

// probationPoints is the probation in points.
func (s *artStream) probationPoints() int { return s.probation * s.c.step }
