package main

import (
	"math"
	"math/bits"
)

// contextModel is a contextual anomaly detector after Smirnov's CAD (Contextual Anomaly
// Detector, open-source edition; "contextOSE" on NAB's scoreboard), written for a stream and a
// fixed memory: round 4a's prototype (ROUNDS.md, DECISIONS.md 95–107), which lost to the
// shipped detector in every form tried and stays here, out of pipeline/anomaly, so that
// `loco -detector cad` can measure the family again. Where pipeline/anomaly's novelty model
// asks whether the shape of the last few levels is new, contextModel learns which facts follow
// which situations and asks how much of what it expected failed to happen.
//
// Facts. Each value is quantised to ctxBits bits of its range (contextRange) and each bit is a
// fact: (bit k, value 0 or 1), 2·ctxBits possible facts, ctxBits of them true at every point.
// Bits rather than levels make neighbouring levels share facts, so a context can hold for the
// coarse part of a value and fail for the fine part.
//
// Contexts. A context pairs a left side (a set of facts that held at the previous point,
// together with the contexts that were active there) with a right side (facts of the current
// point). Because the left side names earlier active contexts, which themselves name earlier
// ones, a context can stand for a history of any length. Contexts are learned two ways: the
// whole of the previous point's left group with the whole of this point's facts (a
// "zero-level" context), and, whenever that pair is new, the intersections of the zero-level
// contexts that partly matched (a generalisation of what the situations had in common).
//
// Score. Of the contexts whose left side held at the previous point ("selected"), the share
// whose right side did not all happen is a prediction failure; of this point's candidate
// contexts, the share that were new is novelty. The raw score is their mean, and 0 when
// every fact of the point was among the predictions (the right sides of the selected contexts
// that had predicted best so far).
//
// Memory. CAD's dictionaries grow without bound; here there are ctxCap context slots, a left
// side is a bitset over the facts and the slots, and a new context evicts the least recently
// selected one; the evicted slot is removed from every left side that named it (a side left
// empty frees its context too), so no left side names a context that is no longer there.
type contextModel struct {
	rng   contextRange
	step  uint32 // points seen, mod 2^32 (only differences are used, for recency)
	group ctxSet // the left group of the last point: its facts and its active contexts
	// predicted is the union of the right sides of the best predicting contexts the last
	// point selected: the facts this point was expected to have.
	predicted uint8

	left    [ctxCap]ctxSet
	leftLen [ctxCap]uint8
	right   [ctxCap]uint8 // 0: the slot is free (a live context's right side is never empty)
	zero    [ctxCap]bool  // the context has been a zero-level context
	// pred and hit count, over the points the context was selected at, the facts its right
	// side predicted and the ones that happened: its prediction weight is hit/pred.
	pred, hit [ctxCap]uint32
	act       [ctxCap]uint32 // points at which the whole right side happened
	used      [ctxCap]uint32 // step it was last selected or created

	// Scratch for one point, not state: candidate contexts and active contexts.
	cand  [ctxMaxCand]ctxCandidate
	nCand int
}

const (
	// ctxBits is the quantisation in bits: 8 levels of the range, as CAD has it.
	ctxBits = 3
	// ctxFacts is the number of distinct sensor facts: a value and its complement per bit.
	ctxFacts = 2 * ctxBits
	// ctxCap is the number of context slots (CAD's memory is unbounded). At 64 the slots
	// thrash: evicting active contexts changes the next left groups, which makes new contexts,
	// which evict more, and even a period-8 sawtooth is never learned (DECISIONS.md 103).
	ctxCap = 128
	// ctxWords is the length of a left side's bitset: the facts, then one bit per slot.
	ctxWords = (ctxFacts + ctxCap + 63) / 64
	// ctxMaxActive is how many active contexts join the next left group (CAD: 15), the most
	// often active first.
	ctxMaxActive = 15
	// ctxMaxLeft bounds the left side of a learned intersection (CAD: 7 facts): a long
	// intersection is hardly more general than the context it came from.
	ctxMaxLeft = 7
	// ctxMaxCand bounds the candidate intersections taken per point, so that a point costs
	// bounded work; the rest are not learned at this point (they recur if they matter).
	ctxMaxCand = 16
)

// ctxSet is a set of facts (bits 0..ctxFacts-1) and contexts (bit ctxFacts+slot).
type ctxSet [ctxWords]uint64

type ctxCandidate struct {
	left  ctxSet
	right uint8
}

func (s *ctxSet) add(b int)      { s[b>>6] |= 1 << (b & 63) }
func (s *ctxSet) has(b int) bool { return s[b>>6]&(1<<(b&63)) != 0 }
func (s *ctxSet) clear(b int)    { s[b>>6] &^= 1 << (b & 63) }

func (s *ctxSet) empty() bool {
	for _, w := range s {
		if w != 0 {
			return false
		}
	}
	return true
}

func (s *ctxSet) count() int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

// facts returns the sensor facts of quantised level q as a bit mask: for bit k of q, fact 2k
// if it is 0 and 2k+1 if it is 1.
func facts(q int) uint8 {
	var m uint8
	for k := 0; k < ctxBits; k++ {
		m |= 1 << (2*k + (q>>k)&1)
	}
	return m
}

// observe folds v (finite) in and returns the point's raw score in [0, 1]; slow is the
// range's decay rate (1/Memory).
func (m *contextModel) observe(v, slow float64) float64 {
	m.step++
	s := facts(m.rng.level(v, slow))
	unexpected := s&^m.predicted != 0

	// The zero-level context: the whole last left group, then this point's facts.
	newID := -1
	uniq := 0
	if !m.group.empty() {
		uniq = 1
		if id := m.find(&m.group, s); id >= 0 {
			m.zero[id] = true
		} else {
			newID = m.insert(&m.group, s, true)
		}
	}
	learn := newID >= 0

	// Judge the contexts whose left side met the last left group; collect the active ones and,
	// if the zero-level context is new, the intersections that are candidates for learning.
	m.nCand = 0
	var active [ctxCap]uint8
	nActive, selected := 0, 0
	for i := range m.right {
		if m.right[i] == 0 || i == newID {
			continue
		}
		var cross ctxSet
		met := false
		for w := range cross {
			cross[w] = m.left[i][w] & m.group[w]
			met = met || cross[w] != 0
		}
		if !met {
			continue
		}
		c := cross.count()
		r := uint8(bits.OnesCount8(m.right[i] & s))
		full := c == int(m.leftLen[i])
		if full {
			selected++
			m.used[i] = m.step
			m.count(i, uint8(bits.OnesCount8(m.right[i])), r)
			if r == 0 {
				continue
			}
			if m.right[i]&^s == 0 {
				m.act[i]++
				active[nActive] = uint8(i)
				nActive++
				continue
			}
		}
		if r > 0 && learn && m.zero[i] && c <= ctxMaxLeft {
			m.candidate(&cross, m.right[i]&s)
		}
	}
	var failed float64
	if selected > 0 {
		failed = 1 - float64(nActive)/float64(selected)
	}

	// The next left group: this point's facts and its most often active contexts.
	var group ctxSet
	group[0] = uint64(s)
	for k := 0; k < nActive && k < ctxMaxActive; k++ {
		best := k
		for j := k + 1; j < nActive; j++ {
			if m.act[active[j]] > m.act[active[best]] {
				best = j
			}
		}
		active[k], active[best] = active[best], active[k]
		group.add(ctxFacts + int(active[k]))
	}
	m.group = group

	// Learn the candidates (inserting may evict, which also removes the evicted slot from the
	// candidates still waiting).
	added := 0
	if learn {
		added = 1
		uniq += m.nCand
		for k := 0; k < m.nCand; k++ {
			c := &m.cand[k]
			if c.left.empty() || m.find(&c.left, c.right) >= 0 {
				continue
			}
			m.insert(&c.left, c.right, false)
			added++
		}
	}
	m.nCand = 0
	var novel float64
	if learn && uniq > 0 {
		novel = float64(added) / float64(uniq)
	}

	m.predict()
	if !unexpected {
		return 0
	}
	return (failed + novel) / 2
}

// count adds one selection of context i: n facts predicted, r of them right. The counts are
// halved together before they overflow, which keeps their ratio.
func (m *contextModel) count(i int, n, r uint8) {
	if m.pred[i] >= 1<<30 {
		m.pred[i] >>= 1
		m.hit[i] >>= 1
	}
	m.pred[i] += uint32(n)
	m.hit[i] += uint32(r)
}

// candidate adds an intersection to learn, once.
func (m *contextModel) candidate(left *ctxSet, right uint8) {
	for k := 0; k < m.nCand; k++ {
		if m.cand[k].right == right && m.cand[k].left == *left {
			return
		}
	}
	if m.nCand < ctxMaxCand {
		m.cand[m.nCand] = ctxCandidate{left: *left, right: right}
		m.nCand++
	}
}

// predict sets the facts expected at the next point: the right sides of the contexts whose
// left side holds in the current group and whose prediction weight is the highest (all of
// them when none has predicted anything yet, as in CAD).
func (m *contextModel) predict() {
	var p uint8
	best := 0.0
	for i := range m.right {
		if m.right[i] == 0 {
			continue
		}
		inside := true
		for w := range m.group {
			if m.left[i][w]&^m.group[w] != 0 {
				inside = false
				break
			}
		}
		if !inside {
			continue
		}
		var w float64
		if m.pred[i] > 0 {
			w = float64(m.hit[i]) / float64(m.pred[i])
		}
		switch {
		case w > best:
			best, p = w, m.right[i]
		case w == best:
			p |= m.right[i]
		}
	}
	m.predicted = p
}

// find returns the slot of context (left, right), or -1.
func (m *contextModel) find(left *ctxSet, right uint8) int {
	for i := range m.right {
		if m.right[i] == right && m.left[i] == *left {
			return i
		}
	}
	return -1
}

// insert stores context (left, right) in a free slot, or in the least recently selected
// one, and returns the slot.
func (m *contextModel) insert(left *ctxSet, right uint8, zero bool) int {
	j, age := -1, uint32(0)
	for i := range m.right {
		if m.right[i] == 0 {
			j = i
			break
		}
		if a := m.step - m.used[i]; j < 0 || a > age {
			j, age = i, a
		}
	}
	if m.right[j] != 0 {
		m.evict(j)
	}
	m.left[j] = *left
	m.leftLen[j] = uint8(left.count())
	m.right[j] = right
	m.zero[j] = zero
	m.pred[j], m.hit[j], m.act[j] = 0, 0, 0
	m.used[j] = m.step
	return j
}

// evict frees slot j and removes it from every left side, the current group and the waiting
// candidates; a context whose left side this empties is evicted too.
func (m *contextModel) evict(j int) {
	m.right[j] = 0
	b := ctxFacts + j
	m.group.clear(b)
	for k := 0; k < m.nCand; k++ {
		m.cand[k].left.clear(b)
	}
	for i := range m.right {
		if m.right[i] == 0 || !m.left[i].has(b) {
			continue
		}
		m.left[i].clear(b)
		if m.leftLen[i]--; m.leftLen[i] == 0 {
			m.evict(i)
		}
	}
}

// cadRest is CAD's rest threshold: a raw score at least this high silences the output for the
// rest period that follows.
const cadRest = 0.75

// detectCAD runs a fresh contextModel over one series with CAD's own output rule: its raw
// score, except within rest points of a raw score of at least cadRest (CAD's history starts
// with one such score, so the first rest points are silent too). rest is Config.Quiet and slow
// 1/Config.Memory (CAD's rest period is 3% of the file, which a stream does not know). A value
// that is not finite scores 0 and is not learned.
func detectCAD(series []point, slow float64, rest int) []float64 {
	var m contextModel
	scores := make([]float64, len(series))
	high := 0 // index + 1 of the last raw score of at least cadRest
	for i, p := range series {
		if math.IsNaN(p.v) || math.IsInf(p.v, 0) {
			continue
		}
		raw := m.observe(p.v, slow)
		if i+1-high > rest {
			scores[i] = raw
		}
		if raw >= cadRest {
			high = i + 1
		}
	}
	return scores
}
