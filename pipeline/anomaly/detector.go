package anomaly

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Result is the detector's verdict on one point.
type Result struct {
	Expected float64 // the value the detector expected
	Lower    float64 // lower edge of the normal band
	Upper    float64 // upper edge of the normal band
	// Score is the anomaly score in [0, 1]: continuous, monotone in how improbable the point
	// is for this series (s/(s+10) for a calibrated surprise of s nats, below 1 for any finite
	// s; doc.go's contract allows 1), 0 during warm-up.
	Score float64
	// Peak says Score is higher than every score of the last Config.Quiet points: the point
	// starts an excursion, or goes beyond the one under way (peaks.go). A benchmark writes
	// Score on the peaks and 0 elsewhere. In a series' first week the comparison is of the
	// scores the points would have without youth's lower report (young.go), so a young Peak's
	// Score may be below an earlier point's. A point whose score is a run's held price (a stop
	// between the lengths the stops channel re-prices, a stuck value past its gate) is not a Peak,
	// except the first point after warm-up (a price set during warm-up has not been judged).
	Peak  bool
	Alarm bool // Peak and Score >= Config.AlarmScore: the point raises an anomaly event
	Warm  bool // the detector has finished warm-up and may alarm
	// Reason is the channel that spoke for the point (the most surprising one, or
	// ReasonRecord when the rarity of a value beyond the series' range is larger); ReasonNone
	// when nothing was surprising or during warm-up.
	Reason Reason
}

// Detector scores one series. It is not safe for concurrent use: like all operator state it
// has a single writer (the runner of its partition, or the aggregator).
type Detector struct {
	p settings
	n int64 // points observed (finite values only)

	fc      forecast
	cx      novelty         // novelty of the series' shape, point by point
	resid   residualChannel // the forecaster's standardised residual
	novel   noveltyChannel  // its calibrated surprise
	stops   zeros           // runs of zeros: activity that stops
	rec     records         // values beyond the series' range so far
	vt      valueTail       // how often, and how regularly, the series goes as far out as this
	rep     repeats         // how often a value equals the one before
	stuck   stuck           // runs of a repeated value: a value that is stuck
	last    lasting         // an excursion, until its close tells whether it was a lasting change
	reports tailCurve       // the series' rate of reports, by surprise
	pk      peaks
	young   youngTrend // the first week's local linear trend: read only for a young point's report
}

// scoreHalf is the surprise (−ln tail probability) that maps to score 0.5. Score is
// s/(s+scoreHalf): monotone in the surprise, never saturating at 1 (so that even extreme
// points remain ranked), and 0.5 at a tail probability of e^-10 ≈ 4.5e-5.
const scoreHalf = 10

// settleDiv is the forecaster's slow horizon as a share of Memory: the seasonal model's baseline
// and the two models' tracked errors, which choose between them, move at settleDiv/Memory per
// point, so they settle over Memory/settleDiv points (the plain level and the profile's slots move
// at estimateRate), and a record counts only once the series is that old (records.go).
const settleDiv = 10

// maxZ caps the standardised residual fed to the calibration, so that one astronomically large
// spike cannot inflate the baseline variance for the whole memory horizon.
const maxZ = 50

// maxValue bounds the values the detector learns. It takes differences of values (v − level,
// v − centre) and sums of a few of them (a band of three deviations), so a value near
// math.MaxFloat64 (which some exporters write for +Inf) overflowed them to ±Inf, and the state
// to NaN for good. Values within ±1e300 differ by at most 2e300, which leaves a factor of 10^8
// before overflow; no value is squared (the statistics square standardised residuals), and a
// quotient by a spread is clamped before it is used (novelty.go, valuetail.go). A larger value
// is handled as an infinite one (TestHugeValuesAreNotLearned); no measurement a worker
// watches comes near it.
const maxValue = 1e300

// learnable says whether the detector learns v: not NaN, not infinite, within ±maxValue. The
// analyzer asks it too, to count what the detector skips (values_skipped_total{reason="not_finite"}).
func learnable(v float64) bool { return math.Abs(v) <= maxValue }

// New returns a detector for one series, using cfg's detector settings (WarmUp, Memory,
// AlarmScore, Quiet, TimeZone). They must be valid (Config.Validate); New panics otherwise,
// since that is a programming error caught at start-up.
func New(cfg Config) *Detector {
	p, err := settingsOf(cfg)
	if err != nil {
		panic(err)
	}
	return &Detector{p: p}
}

// settingsOf returns cfg's detector settings, validated, with the time zone resolved.
func settingsOf(cfg Config) (settings, error) {
	p := settings{warmUp: cfg.WarmUp, memory: cfg.Memory, alarm: cfg.AlarmScore, quiet: cfg.Quiet, zone: cfg.TimeZone}
	err := p.validate()
	if loc, zerr := loadZone(cfg.TimeZone); zerr != nil {
		err = errors.Join(err, fmt.Errorf("anomaly.time_zone: %w", zerr))
	} else {
		p.loc = loc
	}
	return p, err
}

// adopt replaces a restored detector's settings with p (the configured ones) and returns the
// time zone its snapshot was taken in. A detector restored under another zone reads its clock
// in the new one from its first point, and keeps the profile its snapshot learned on the other
// clock: each slot holds the level of the half hour the offsets' difference away (and the
// weekend's days were cut at the other midnight) until the new clock's visits move it, at
// estimateRate per visit. Dropping the profile instead costs more: the slots start again from
// single points and the first weekend borrows the weekdays', so that a user who corrects the
// zone gets about as many false alarms in the week after as with the wrong zone kept, against
// fewer than half when the profile is kept (TestZoneChangeKeepsTheProfile).
func (d *Detector) adopt(p settings) (zone string) {
	zone, d.p = d.p.zone, p
	return zone
}

// Observe folds the point (t, v) into the detector and returns its verdict. Points are
// expected in time order. A NaN or infinite value, or one beyond ±maxValue, is not learned: it
// returns the current expectation with score 0 and leaves the state untouched.
func (d *Detector) Observe(t time.Time, v float64) Result { return d.observe(t, v, false) }

// ObserveCount is Observe for a point the caller knows is a count of independent events (the
// records of a window, the events a Contributor Insights Count rule matched): when v is a
// non-negative whole number, the residual's calibrated surprise is at most the Poisson tail
// of v at the forecaster's expectation (poisson.go), and a zero that starts a run of zeros is
// worth at most −ln P(X = 0) there to the stops channel. A young series of small counts has a
// deviation learned from a few whole-number residuals, and the normal approximation would
// call a count that Poisson noise reaches once in 20 windows a 20-deviation event. The
// caller decides per point, from the series' metadata, so nothing about it is kept in the
// state: a series may be observed either way, and a snapshot is the same.
func (d *Detector) ObserveCount(t time.Time, v float64) Result { return d.observe(t, v, true) }

func (d *Detector) observe(t time.Time, v float64, count bool) Result {
	ws, ts := slotsIn(t, d.p.loc)
	if !learnable(v) {
		exp, _ := d.fc.predict(ws, ts)
		return d.band(exp, d.fc.devFloor())
	}
	d.n++
	slow := 1 / float64(d.p.memory)
	tail := slow / tailHorizon // the tail rates' EWMA rate
	decay := -math.Log1p(-tail)

	// Four channels of evidence (the residual, the novelty of the shape, a stuck value, a run of
	// zeros), each a surprise calibrated against this series' history; the most surprising
	// speaks for the point, unless a record's rarity is larger.
	z, exp, dev := d.fc.observe(v, ws, ts, settleDiv*slow, t.Unix())
	// In a series' first week the point may report less than the channels say, never more, and
	// nothing learns the lower report (young.go): ry is the residual's surprise against the
	// young series' trend, read from the calibration before this point updates it.
	young := !d.young.over && d.fc.young()
	// Beyond its largest event the residual's curve prices a surprise at the ratio its own tail
	// reached there once the series has settled (tailCurve.correctPast, bench/nab/DECISIONS.md
	// 488): before that one report lifts the curve's upper levels to its rates' floor, which is no
	// heavy tail measured.
	settled := d.n > int64(d.p.memory/settleDiv)
	var rs, ry float64
	if young {
		if f := d.young.observe(v, dev, d.fc.n); d.fc.n > minEvidence {
			ry = d.resid.peek(math.Min(math.Abs(v-f)/dev, maxZ), settled)
		}
	} else if !d.young.over {
		d.young.end()
	}
	if d.fc.n > minEvidence {
		// Before the forecaster has a deviation (its first points), z is a ratio to a floor,
		// not a residual, and one such z of 50 would wreck the channel's baseline for
		// hundreds of points.
		zc := math.Min(z, maxZ)
		d.last.begin(zc, dev, &d.resid.c)
		rs = d.resid.observe(zc, slow, tail, decay, settled)
		// The level's distance from the seasonal prediction is read only while an excursion is
		// open, after the forecaster learned the point; its close as a lasting change un-counts
		// the levels only the change reached (lasting.go). The point's own report is priced as
		// the curve stood before.
		if d.last.open && d.last.step(zc, d.fc.level-d.fc.seasonal(ws, ts), d.p.quiet, &d.resid.c) {
			d.last.restore(&d.resid.c, decay)
		}
	}
	nraw := d.cx.observe(v, slow, d.p.quiet, d.rep.held(v))
	nv := d.novel.observe(nraw, slow)
	// A new shape at a value the series produces all the time is not the pattern channel's to
	// report (body.go); a value frozen there is the stuck channel's. Whether the value is in the
	// body is read from the value tail's histogram before this point counts, and only when the
	// pattern channel has something to say (it can speak only when nv > 0, since no surprise is
	// negative): reading it sums one side of the histogram, and the channel is silent on most
	// points.
	ordinary := nv > 0 && d.vt.inBody(v, d.cx.center, d.cx.spreadFloor())
	sv := d.stuck.observe(v, &d.rep, slow, tail, decay)
	d.rep.observe(v, slow)
	// A deviation out into the series' own tail, on a trip that came on schedule, is worth no
	// more than how often the series goes that far: a nightly job's spike to the same height is
	// routine however unexpected at the moment; the same height off schedule is not bounded.
	rs = math.Min(rs, d.vt.observe(v, exp, d.cx.center, d.cx.spreadFloor(), slow, tail, float64(t.Unix())))
	// A count is worth no more than its Poisson tail at the expectation. The bound is on what
	// the channel reports, after its tail curve: the curve keeps learning the residual's own
	// surprise, since a young series' large normal-approximation surprises are what flatten
	// its upper levels and keep later bursts' reports, and so the report curve, modest
	// (bench/nab/DECISIONS.md, round 24: bounded before the curve, a stop after bursts is
	// flagged late).
	if count && rs > 0 && isCount(v) {
		rs = math.Min(rs, poissonSurprise(v, exp))
	}
	// The young residual is bounded as the residual is: by every bound above, and by main's.
	ry = math.Min(ry, rs)
	// A zero that continues a run of zeros the user has been told of is the stops channel's
	// evidence, priced at the run's doublings (zeros.go): the novelty context counts the same run's
	// length, and a run at a small count's low level that outlasts every run of low counts is a new
	// context at each doubling of its bucket, the same stop told again by a second channel. Until
	// the run has been told, the pattern may be its first word: the stops channel's price for a
	// short run can map below even odds (bench/nab/DECISIONS.md 466, 467, 468).
	pattern := nv > 0 && !ordinary && !d.stuck.speaking() && !(v == 0 && d.stops.run > 0 && d.stops.told)
	st := d.stops.observe(v, slow, tail, decay)
	// A count's zero is at most as rare as Poisson says at the expectation, e^−exp: over-dispersion
	// only makes a zero likelier (a mixed Poisson's P(0) = E e^−Λ ≥ e^−E Λ). Bounded on a run's first
	// zero only, where that is the whole run's probability; over a run the forecaster's expectation
	// falls with every zero, and a bound from it would understate a stop. After the channel's curve,
	// as the residual's bound: the curve learns what it would without it. Where it binds: a young
	// count's first zero, which the channel prices at its floor of one zero per tail horizon (its
	// rate of zeros is 0 until then), ln(tailHorizon · Memory) nats at any age (bench/nab/DECISIONS.md
	// 429, 473).
	if count && v == 0 && d.stops.run == 1 {
		st = math.Min(st, poissonSurprise(0, exp))
	}
	s, why := loudest(rs, nv, sv, st, pattern)
	// Whether the channel that speaks holds a run's price it did not re-evaluate at this point (a
	// record's rarity, below, is news of its own).
	held := (why == ReasonStopped && d.stops.holding()) || (why == ReasonPattern && s == sv && d.stuck.holding())
	// Whether the stuck channel speaks for its run at or past its gate.
	stall := why == ReasonPattern && s == sv && d.stuck.held != 0
	// A value beyond everything the series has produced adds the rarity of that: the point is
	// both a surprising excursion and a first visit, two events whose probabilities multiply.
	// The margin is in the long-run spread, the range's own horizon: the forecaster's deviation
	// is a ~50-point average that an excursion inflates, and would hide a record just after one.
	rec := d.rec.observe(v, bandZ*d.cx.spreadFloor(), slow, tail, int64(d.p.memory/settleDiv))

	res := d.band(exp, dev)
	if !res.Warm {
		return res
	}
	// The channels' surprise, recalibrated by how often this series reports that much, plus
	// the record's rarity, which is already this series' own rate and is not mapped again: the
	// report curve of a series with many large reports flattens, and a record through it would
	// be worth a fraction of a nat however rare records are. The curve learns the whole report,
	// s + rec, so that a series whose reports are routinely records still learns to discount
	// its large reports. Then reported if it tops the recent maximum.
	cs := d.reports.correct(s)
	if rec > cs {
		why, held, stall = ReasonRecord, false, false
	}
	c := cs + rec
	// A stall not yet reported is still news (bench/nab/DECISIONS.md 470, round 107's 460): a gate
	// that did not top the Quiet window (a larger excursion just before the stall) or that another
	// channel outscored owes the run its page. Until it is paged the run keeps the best report its
	// price has had (the held price maps lower point by point as the stuck channel's curve and the
	// report curve learn the run's own repeats, which are no new evidence), the report rule judges
	// it as any point, and the window learns nothing from it, so it tops the window once what
	// masked the gate has left.
	owed := stall && !d.stuck.paged
	if owed {
		c = max(c, d.stuck.owed)
	}
	// A young point reports the smaller of c and the same score with the residual against the
	// young series' trend, through the report curve as it stands before this point (read only).
	// The peaks' block learns c and the report curve s + rec, as they would without youth, so that
	// nothing after the first week depends on what it reported; Peak is then c's.
	report := c
	if young {
		sy, whyY := loudest(ry, nv, sv, st, pattern)
		cy := d.reports.correct(sy)
		if rec > cy {
			whyY = ReasonRecord
		}
		// An owed stall's report is not the residual's to lower (484): youth judges the residual
		// against the young trend, and the stall's best report stands until it is paged (470).
		if cy += rec; owed && cy < d.stuck.owed {
			cy, whyY = d.stuck.owed, ReasonPattern
		}
		if cy < c {
			report, why = cy, whyY
		}
	}
	keep := c
	if owed {
		keep = 0
	}
	res.Peak = d.pk.observe(c, keep, d.p.quiet)
	// A held price is not news (bench/nab/DECISIONS.md 446): the stops channel between the run
	// lengths it re-prices and the stuck channel past its gate repeat the price of evidence already
	// judged, and only the calibration has moved since. A report counted by the report curve lowers
	// what the same surprise maps to, and the curve's rates then decay point by point, so a surprise
	// held flat maps a little higher each point and tops the Quiet window again once the report has
	// left it: the same incident, paged every Quiet points or so for as long as the run lasts. The
	// peaks' block keeps c, so what follows must top the held score as before; the report curve
	// counts the reports given. Except at the first warm point, the first the report rule judges:
	// a price set in warm-up (a stall's gate, a doubling of a stop) has not been judged there, so it
	// is this run's first chance to page (round 102). And except a stall not yet reported (owed,
	// above): its page is still due.
	if held && !owed && d.n > int64(d.p.warmUp)+1 {
		res.Peak = false
	}
	// A stall is one page, whichever channel's name is on it (decision 480): a Peak of another
	// channel at a point where the stall's report is owed (the residual outscoring a held value that
	// drifts from a daily shape's forecast) pays it when it reports at least what is owed, so the
	// stall is not paged again as a pattern once the window has passed. A lower report pays nothing:
	// at a threshold between the two the stall would go unpaged. An owed point the stall speaks for
	// reports at least owed already. The report compared is the one given, after a young point's
	// lower report (484): the score before it could pay the stall with a lower page, even Score 0.
	if d.stuck.held != 0 && !d.stuck.paged && res.Peak && report >= d.stuck.owed {
		d.stuck.paged, d.stuck.owed = true, 0
	} else if owed && !res.Peak {
		d.stuck.owed = c
	}
	d.reports.observe(s+rec, res.Peak, tail, decay)
	res.Score = report / (report + scoreHalf)
	if report > 0 {
		res.Reason = why
	}
	res.Alarm = res.Peak && res.Score >= d.p.alarm
	// A run of zeros has been told once one of its zeros is a report at even odds or better
	// (Score ≥ 0.5): a level of the score's own scale, not AlarmScore, so that no score depends on
	// the user's threshold (bench/nab/DECISIONS.md 468: 467 read Alarm here, and a lower setting
	// silenced the pattern sooner).
	if res.Peak && report >= scoreHalf && v == 0 {
		d.stops.told = true
	}
	return res
}

// loudest returns the channels' surprise for a point and the channel that speaks: the residual
// rs, unless the pattern's nv is larger and may speak (pattern), or a stuck value's sv, or a
// stop's st, is larger still.
func loudest(rs, nv, sv, st float64, pattern bool) (float64, Reason) {
	s, why := rs, ReasonDeviation
	// A run at one value that the stuck channel judges is its news: the novelty of that shape is
	// the same news, and would report the stall as an event of its own (stuck.go).
	if nv > s && pattern {
		s, why = nv, ReasonPattern
	}
	// A stuck value speaks as the pattern: the value is ordinary, its repetition is not.
	if sv > s {
		s, why = sv, ReasonPattern
	}
	if st > s {
		s, why = st, ReasonStopped
	}
	return s, why
}

func (d *Detector) warm() bool { return d.n > int64(d.p.warmUp) }

// band returns the verdict before scoring: the expectation exp, the band bandZ deviations dev
// either side of it, and whether the detector is warm.
func (d *Detector) band(exp, dev float64) Result {
	return Result{Expected: exp, Lower: exp - bandZ*dev, Upper: exp + bandZ*dev, Warm: d.warm()}
}

// isCount reports whether v is a non-negative whole number that a float64 holds exactly (below
// 2^53): a value with a fraction, or a negative one, is not a count whatever its metadata says.
func isCount(v float64) bool { return v >= 0 && v < 1<<53 && v == math.Trunc(v) }
