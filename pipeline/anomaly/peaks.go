package anomaly

// peaks is the de-duplication, and it has no threshold of its own: a point is reported
// (Result.Peak) when its score exceeds every score of the last Quiet points. At any
// threshold θ, the reports at or above θ are the first point to reach θ after Quiet points
// below it, and any later point that goes higher than everything since: one report per
// excursion, and a later, stronger excursion is never swallowed by an earlier, weaker one.
// Because the rule does not depend on θ, a benchmark's sweep over thresholds and the worker's
// alarm_score choose among the same reports: there is no second threshold to sit beside the
// first (an episode opened at a fixed score, as before, made every detection depend on it).
// One exception is the detector's, not this rule's: a point whose score is a run's held price (the
// stops channel between doublings, the stuck channel past its gate) is not reported however it
// compares (save the first point after warm-up, the first this rule sees), since a flat surprise,
// recalibrated by a report curve whose rates decay between reports, would top the window again
// every Quiet points (detector.go, bench/nab/DECISIONS.md 446). A stuck run not yet reported is
// judged as any point, and the window does not remember its score until it is reported (keep, 470).
//
// The recent maximum is kept per block of ⌈Quiet/peakBlocks⌉ points: fixed state, O(1) per
// point, and a horizon exact to one block (between Quiet and Quiet + one block).
type peaks struct {
	block [peakBlocks]float64 // maxima of the last complete blocks (a ring)
	head  int                 // index of the oldest block
	cur   float64             // maximum of the current block
	in    int                 // points in the current block
	done  float64             // maximum of block, recomputed when a block completes (not saved)
}

const peakBlocks = 16

// observe reports whether s exceeds the recent maximum, then records it, or records keep (at most
// s) when s is not reported: a stall's owed report is judged but not remembered until it is
// reported (detector.go, decision 470). Scores are finite and non-negative, so plain comparisons do
// (math.Max's NaN cases cost a third of Observe).
func (p *peaks) observe(s, keep float64, quiet int) bool {
	fresh := s > p.cur && s > p.done
	if fresh {
		keep = s
	}
	if keep > p.cur {
		p.cur = keep
	}
	p.in++
	if p.in >= (quiet+peakBlocks-1)/peakBlocks {
		p.block[p.head] = p.cur
		p.head = (p.head + 1) % peakBlocks
		p.cur, p.in = 0, 0
		p.recompute()
	}
	return fresh
}

// recompute sets done from the blocks.
func (p *peaks) recompute() {
	p.done = 0
	for _, b := range p.block {
		if b > p.done {
			p.done = b
		}
	}
}
