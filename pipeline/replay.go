package pipeline

// A partition assigned with a Checkpoint starts where the first run's commit point left it
// (commit.go), so that reading its records again makes the decisions the first run made and
// writes byte-identical partials under the same keys (rule 7 of eventtime.go):
//
//   - its closedThrough: windows ending at or before it are closed, and a record in one is
//     late, as it was the first time;
//   - its straddlers: windows that were open at the commit point and are durable now. Each is
//     open again, without state, until the watermark passes its end, exactly as it was open
//     the first time: what the first run folded or counted in it, up to its last position, is
//     swallowed (weir_replayed_records_total), and it is never written. A record past that
//     position for it is late: the first run had closed it.
//
// Without a checkpoint (a new partition, or one whose commit carried no state weir can read)
// the partition starts with no watermark, as a new one does.

// restore sets the runner up from c, before it reads anything.
func (r *runner) restore(c Checkpoint) {
	r.holds.restore(c)
	r.prev, r.hasPrev = c.Position, true
	if ct := c.State.ClosedThrough; ct > 0 {
		r.et.restore(ct)
		r.written = ct
	}
	for _, s := range c.State.Straddlers {
		w := &openWindow{start: s.Start, end: s.Start + int64(r.rt.cfg.Period), last: s.Last, straddler: true}
		if w.end <= r.written {
			continue // closed already: nothing of it can be read as on time
		}
		i := len(r.open)
		for i > 0 && r.open[i-1].start > w.start {
			i--
		}
		r.open = append(r.open, nil)
		copy(r.open[i+1:], r.open[i:])
		r.open[i] = w
	}
}

// swallow reads a record the first run counted in a window that is durable already.
func (r *runner) swallow(rec *Record) {
	r.rt.metrics.replayed.Inc()
	r.prev, r.hasPrev = rec.Position, true
}
