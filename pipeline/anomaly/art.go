package anomaly

// artNet is a dual-vigilance fuzzy ART network (Carpenter, Grossberg and Rosen 1991 for fuzzy
// ART; da Silva, Elnabarawy and Wunsch 2019 for the two vigilances), bounded for a stream. It
// is the memory of the shape channel (shape.go).
//
// A category is a hyper-box in feature space, stored complement-coded: for each feature k its
// lower edge u_k and one minus its upper edge 1−v_k, so that one "fuzzy AND" (a minimum per
// coordinate) both tests and grows the box. An input x, complement-coded the same way, matches
// category w by |x∧w|/|w|, the share of the box's size that the box grown to hold x keeps: 1
// inside the box, smaller the further outside. As ARTime does, the match is that cubed, times
// the square of the same ratio on the newest feature alone (the "energy": the latest level),
// so that a window whose shape is familiar but whose latest value is not still mismatches.
//
// Presenting x, every category matching at or above the upper vigilance learns it (its box
// grows to hold x: fast learning); if none does, a new category is made from x, and whether
// the best match reached the lower vigilance says whether it belongs to a known cluster or
// starts a new one, which is what the channel calls novel.
//
// Weights are one byte per coordinate (features quantised to 1/255): boxes only grow by taking
// minima of inputs already on that grid, so learning loses nothing to it. When the network is
// full, the category matched least recently is replaced: a stream's memory must be bounded,
// and the shapes the series stopped producing are the ones to forget.
type artNet struct {
	w    [artCategories * 2 * artDim]uint8 // category j's weights are w[j·2·artDim:][:2·artDim]
	seen [artCategories]uint32             // per category, the block of its last match
	size [artCategories]uint16             // per category, the sum of its weights (|w|)
	n    int                               // categories in use

	lb, ub float64 // lower and upper vigilance
}

const (
	// artCategories bounds the network: 128 boxes of 2·artDim bytes, 4 KiB.
	artCategories = 128
	// artDim is the number of features per input (shape.go): the window's shape and values.
	artDim = 2 * artWindow
)

// present shows x to the network at block now and learns it. It returns the best match and
// novel: no category matched at the lower vigilance. The first input ever
// presented only founds a category (ok false): there is nothing to match it against.
func (a *artNet) present(x *[artDim]uint8, now uint32) (best float64, novel, ok bool) {
	const d = artDim
	if a.n == 0 {
		a.commit(0, x, now)
		a.n = 1
		return 0, false, false
	}
	var xx [2 * d]uint8 // x complement-coded
	for k := 0; k < d; k++ {
		xx[k], xx[d+k] = x[k], 255-x[k]
	}
	var match [artCategories]float64
	const e = d - 1 // the newest feature
	bestJ := -1
	for j := 0; j < a.n; j++ {
		w := (*[2 * d]uint8)(a.w[j*2*d:])
		en := 1.0 // a box spanning the whole range on the newest feature holds any value
		if de := int(w[e]) + int(w[d+e]); de > 0 {
			en = float64(int(min(xx[e], w[e]))+int(min(xx[d+e], w[d+e]))) / float64(de)
		}
		// The match is at most en²: a category that could neither learn nor beat the best so
		// far is skipped without its full sum, which leaves every result as it was and spares
		// most of the network on a series whose level moves.
		if bound := en * en; bestJ >= 0 && bound < a.ub && bound <= best {
			match[j] = 0
			continue
		}
		num := 0
		for k := range xx {
			num += int(min(xx[k], w[k]))
		}
		fs := 0.0
		if den := a.size[j]; den > 0 {
			fs = float64(num) / float64(den)
		}
		m := fs * fs * fs * en * en
		match[j] = m
		if bestJ < 0 || m > best {
			best, bestJ = m, j
		}
	}
	novel = best < a.lb
	learned := false
	for j := 0; j < a.n; j++ {
		if match[j] >= a.ub {
			w := (*[2 * d]uint8)(a.w[j*2*d:])
			for k := range xx {
				w[k] = min(w[k], xx[k])
			}
			a.size[j] = weightSum(w)
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
	return best, novel, true
}

// slot returns where a new category goes: the next free one, or the one matched least
// recently.
func (a *artNet) slot() int {
	if a.n < artCategories {
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
func (a *artNet) commit(j int, x *[artDim]uint8, now uint32) {
	const d = artDim
	w := (*[2 * d]uint8)(a.w[j*2*d:])
	for k := 0; k < d; k++ {
		w[k] = x[k]
		w[d+k] = 255 - x[k]
	}
	a.size[j] = weightSum(w)
	a.seen[j] = now
}

// weightSum returns |w|, at most 2·artDim·255.
func weightSum(w *[2 * artDim]uint8) uint16 {
	var s uint16
	for _, v := range w {
		s += uint16(v)
	}
	return s
}

// resize recomputes every category's |w| (after a restore: it is derived, not saved).
func (a *artNet) resize() {
	for j := 0; j < a.n; j++ {
		a.size[j] = weightSum((*[2 * artDim]uint8)(a.w[j*2*artDim:]))
	}
}
