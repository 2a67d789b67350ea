package main

// catchUpPeaks writes heap profiles at the stall's catch-up peaks (-profile): the target
// compares the highest RSS from the stall on with the highest before it, and when the
// catch-up's is the higher, what the heap held then is what to explain. Whenever a sample after
// the sink's return sets a new high of RSS (label "peak") or of the heap the last collection
// marked live (label "livepeak", which sets the next heap goal) above the highest before the
// stall, the profile is written again, without a forced collection: its in-use figures are
// then those of the collections that set the goal, which a forced one would replace.
type catchUpPeaks struct {
	st   *staller
	prof *profile
	// the highest RSS and live heap seen so far: before the stall, then from the sink's return
	rss, live int64
}

func newCatchUpPeaks(st *staller, prof *profile) *catchUpPeaks {
	return &catchUpPeaks{st: st, prof: prof}
}

func (c *catchUpPeaks) see(s sample) error {
	began, ended := c.st.span()
	var live int64
	if s.Heap != nil {
		live = s.Heap.Live
	}
	switch {
	case began.IsZero():
		c.rss, c.live = max(c.rss, s.RSS), max(c.live, live)
		return nil
	case ended.IsZero():
		return nil
	}
	if s.RSS > c.rss {
		c.rss = s.RSS
		if err := writeHeap(c.prof.path("peak")); err != nil {
			return err
		}
	}
	if live > c.live {
		c.live = live
		return writeHeap(c.prof.path("livepeak"))
	}
	return nil
}
