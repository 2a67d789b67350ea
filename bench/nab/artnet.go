package main

// artNet is a dual-vigilance fuzzy ART network (Carpenter, Grossberg and Rosen 1991 for fuzzy
// ART; da Silva, Elnabarawy and Wunsch 2019 for the two vigilances), bounded for a stream.
//
// A category is a hyper-box in feature space, stored complement-coded: for each feature k its
// lower edge u_k and one minus its upper edge 1−v_k, so that one "fuzzy AND" (a minimum per
// coordinate) both tests and grows the box. An input x (complement-coded the same way) matches
// category w by |x∧w|/|w|, the share of the box's size that the box grown to hold x keeps: 1
// inside the box, smaller the further outside. As ARTime does, the match is that cubed, times
// the square of the same ratio on the newest feature alone (the "energy": the latest level),
// so that a window whose shape is familiar but whose latest value is not still mismatches.
//
// Presenting x, every category matching at or above the upper vigilance learns it (its box
// grows to hold x: fast learning); if none does, a new category is made from x, and whether
// the best match reached the lower vigilance says whether it belongs to a known cluster or
// starts a new one, which is what the detector calls novel.
//
// Weights are one byte per coordinate (features quantised to 1/255): the boxes only ever
// shrink toward minima of inputs, so the byte grid loses nothing learning adds, and the
// network's state is max categories × 2·dim bytes. When the network is full the category
// matched least recently is replaced: a stream's memory must be bounded, and the shapes the
// series stopped producing are the ones to forget.
type artNet struct {
	dim  int      // features per input, before complement coding
	max  int      // category bound
	w    []uint8  // category j's weights are w[j·2dim : (j+1)·2dim]
	seen []uint32 // per category, the clock of its last match above the lower vigilance
	n    int      // categories in use

	lb, ub float64 // lower and upper vigilance
	match  []float64
}

func newARTNet(dim, max int) *artNet {
	return &artNet{dim: dim, max: max, w: make([]uint8, max*2*dim), seen: make([]uint32, max), match: make([]float64, max)}
}

// present shows x (dim quantised features) to the network at clock now. It returns the best
// match and its energy, and novel: no category matched at the lower vigilance. When learn is
// false the network is left unchanged. The first input ever presented only founds a category
// (ok false): there is nothing to match it against.
func (a *artNet) present(x []uint8, now uint32, learn bool) (best, energy float64, novel, ok bool) {
	d := a.dim
	if a.n == 0 {
		if learn {
			a.commit(0, x, now)
			a.n = 1
		}
		return 0, 0, false, false
	}
	e := d - 1 // the newest feature
	bestJ := -1
	for j := 0; j < a.n; j++ {
		w := a.w[j*2*d : (j+1)*2*d]
		var num, den int
		for k := 0; k < d; k++ {
			xk, xc := x[k], 255-x[k]
			num += int(min(xk, w[k])) + int(min(xc, w[d+k]))
			den += int(w[k]) + int(w[d+k])
		}
		fs := 0.0
		if den > 0 {
			fs = float64(num) / float64(den)
		}
		en := 1.0
		if de := int(w[e]) + int(w[d+e]); de > 0 {
			en = float64(int(min(x[e], w[e]))+int(min(255-x[e], w[d+e]))) / float64(de)
		}
		m := fs * fs * fs * en * en
		a.match[j] = m
		if bestJ < 0 || m > best {
			best, energy, bestJ = m, en, j
		}
	}
	novel = best < a.lb
	if !learn {
		return best, energy, novel, true
	}
	learned := false
	for j := 0; j < a.n; j++ {
		if a.match[j] >= a.ub {
			w := a.w[j*2*d : (j+1)*2*d]
			for k := 0; k < d; k++ {
				w[k] = min(w[k], x[k])
				w[d+k] = min(w[d+k], 255-x[k])
			}
			a.seen[j] = now
			learned = true
		}
	}
	if !learned {
		if !novel {
			a.seen[bestJ] = now
		}
		a.commit(a.slot(), x, now)
	}
	return best, energy, novel, true
}

// slot returns where a new category goes: the next free one, or the one matched least
// recently.
func (a *artNet) slot() int {
	if a.n < a.max {
		a.n++
		return a.n - 1
	}
	old := 0
	for j := 1; j < a.n; j++ {
		if a.seen[j] < a.seen[old] {
			old = j
		}
	}
	return old
}

// commit makes category j the box holding x alone.
func (a *artNet) commit(j int, x []uint8, now uint32) {
	d := a.dim
	w := a.w[j*2*d : (j+1)*2*d]
	for k := 0; k < d; k++ {
		w[k] = x[k]
		w[d+k] = 255 - x[k]
	}
	a.seen[j] = now
}
