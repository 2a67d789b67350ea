package anomaly

// A lasting change (a deploy that doubles traffic, a new tenant, a migration: a mature series'
// level moves and stays) is one occasion, but the residual channel's tail curve learns it as
// many: while the forecaster re-settles, tens of points reach surprises the series had never
// reached, and every one counts at those levels. For weeks after, a spike in the new regime
// maps to a fraction of its surprise and pages no more (bench/nab/DECISIONS.md, rounds 89 and
// 97). Forgetting every excursion's counting instead floods a bursty series with reports (round
// 10, 167): that counting is what keeps its routine excursions quiet. So the change must be told
// from a routine excursion, and that can be done only after the fact.
//
// The forecaster tells it. Its plain level follows a change within about minEvidence points,
// while the seasonal model's slow baseline and its slots, revisited once a day, do not; after a
// spike or a burst the level comes back. An excursion opens at a point outside the band (the
// deviation it was judged by is the reference, before the excursion inflates it) and closes
// after Quiet consecutive points inside it. It was a lasting change if, while it was open, the
// plain level stayed more than clipZ reference deviations on one side of the seasonal model's
// prediction for Quiet consecutive points: clipZ is the most one point may teach the level, so
// such a level was moved by many points and stayed.
//
// At the close of a lasting change, only the residual curve's levels above its top where the
// excursion kept it (its first point, or its last ordinary point, below) are set back to their
// rates then, decayed for the points since (as if they had been below every level). A level the series had never reached before the change,
// and reached only during it, is evidence about the change, not about how often the series in
// either regime goes that far; a level it had reached keeps counting as it did, so a routine
// excursion of the new regime is priced as before. The baseline, the curve's lower levels and its
// top, the report curve and the records stay as they learned, and so does the forecaster: its
// following of the change is what the recognition reads (as interval.go's gap rule acts on the
// forecaster when it recognises a gap).
//
// Nothing but the close bounds an excursion's length: a point outside the band at least once
// every Quiet points keeps it open, so on a bursty series it can span many routine excursions and
// days. What it un-counts is bounded instead: at an ordinary point (inside the band, the level on
// neither side: no run, and a change under way shows as one within about minEvidence points of the
// level moving), once the curve has been kept Quiet points (the report rule's horizon for one
// excursion, time for a change to show), the excursion keeps the curve as it stands then. What the
// curve learned since were routine excursions, which keep counting. A change whose first points went
// out before its level's run began can be kept so, and is then un-counted less. The excursion stays open with its reference
// deviation: ending it there instead (round 117's 471) handed the next one a reference that routine
// points had inflated, against which a later change's level was no longer clipZ away. So the
// recognition is the same as with the curve kept at the first point; only what a close sets back
// is recent. The counts that step increments (run until met, inside until the close) stop at Quiet,
// so their int32 cannot wrap, and a snapshot with them at maxQuiet or beyond is refused
// (snapshot.go).
type lasting struct {
	open   bool
	met    bool  // the level held on one side for Quiet points while it was open
	sign   int32 // the side of the seasonal prediction the level is on: 1, −1, or 0 neither
	run    int32 // consecutive points the level has been on that side, until met
	inside int32 // consecutive points inside the band, up to Quiet
	k      int64 // points since the curve was kept
	devRef float64

	// The residual curve's rates and top before the excursion's first point learned, or after the
	// last ordinary point that kept it.
	was tailCurve
}

// begin opens an excursion at a point outside the band, before the residual curve learns it:
// z is its standardised residual, dev the deviation it was judged by.
func (l *lasting) begin(z, dev float64, curve *tailCurve) {
	if l.open || z <= bandZ {
		return
	}
	*l = lasting{open: true, devRef: dev, was: *curve}
}

// step folds a point into the excursion under way, once the forecaster and the residual curve have
// learned it: z is its standardised residual, gap the plain level's distance from the seasonal
// prediction, in the series' units, and curve the residual curve. It reports whether the excursion
// closed as a lasting change.
func (l *lasting) step(z, gap float64, quiet int, curve *tailCurve) bool {
	if !l.open {
		return false
	}
	l.k++
	if z <= bandZ {
		l.inside++
	} else {
		l.inside = 0
	}
	// Once met, the run no longer matters: it stops counting, so it stays below Quiet however
	// long the excursion lasts.
	if !l.met {
		var side int32
		if x := gap / l.devRef; x > clipZ {
			side = 1
		} else if x < -clipZ {
			side = -1
		}
		switch {
		case side == 0:
			l.run = 0
		case side == l.sign:
			l.run++
		default:
			l.run = 1
		}
		l.sign = side
		l.met = int(l.run) >= quiet
	}
	if int(l.inside) < quiet {
		// An ordinary point, the curve kept Quiet points: what it learned since keeps counting.
		if !l.met && l.run == 0 && z <= bandZ && l.k >= int64(quiet) {
			l.was, l.k = *curve, 0
		}
		return false
	}
	l.open = false
	return l.met
}

// restore sets the residual curve's levels above the kept top back to their kept rates, decayed
// for the excursion's points (decay is −ln(1 − the tail rate) per point).
func (l *lasting) restore(c *tailCurve, decay float64) {
	if l.was.surprise[0] == 0 {
		return // the curve had not started: its levels were nominal, and learned only the change
	}
	dk := float64(l.k) * decay
	for j, x := range curveLevels {
		if x > l.was.top {
			c.surprise[j] = l.was.surprise[j] + dk
		}
	}
}
