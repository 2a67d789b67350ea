// Package anomaly is weir's online anomaly detection: a Detector per series, and the Analyzer
// that runs detectors on the series of each window's Output and publishes their verdicts.
//
// # The detector
//
// One pass, O(1) work and no allocation per point, a fixed-size state (about 5.8 KB),
// snapshot and restore with msgpack. Each point is judged by four channels, each a surprise
// (−ln of a tail probability) calibrated against the series' own history, and the loudest speaks
// for it (detector.go, loudest). What the code has beside them is not a fifth channel: bounds on
// what a channel reports (a value's schedule, a count's Poisson tail), a record's rarity added
// after the report curve, a young series' lower report and the report rule (below):
//
//   - the forecaster's residual (forecast.go): a robust EWMA level or a clock-indexed
//     Holt-Winters profile (weekdays and weekend, half-hour slots, on the wall clock of
//     Config.TimeZone, the users' zone: zone.go), with a Brutlag deviation, gives
//     Expected/Lower/Upper and the standardised residual, which catches spikes, drops, shifts
//     and changes of variance;
//   - the contextual novelty of the series' shape (novelty.go): a pattern the series has not
//     produced before, however small;
//   - runs of zeros (zeros.go): activity that stops, which a bursty series' wide band hides;
//   - runs of a repeated value (stuck.go): on a series that rarely repeats a value, a value
//     that has held for longer than minEvidence points and twice the longest the series has
//     held one, a flatline (an exporter that froze), judged once per run as a pattern; the
//     novelty channel is silent while such a run is under way.
//
// A series that stops reporting for longer than minEvidence of its usual intervals (learned from
// its own timestamps: an exporter that was down, a contributor that left the top N for a while)
// resumes at a point the plain level, an average per point, has no forecast for: the point is
// judged by the clock-indexed profile in that model's own unit, and the level moves toward it by
// the gain the time passed calls for (forecast.go, interval.go). Ordinary values after an outage
// are not news; a spike or a drop to zero on the first point back still is. A half hour of the
// day never seen (a series less than a day old, a tenant rarely listed) has no profile to judge
// by: there the point is judged against the plain level in the spread its forecast has after
// the time passed, so a tenant listed again because its errors burst is still flagged.
//
// A series in its first week (its points times its usual interval under seven days: young.go)
// has no daily profile on day one, and after it a profile whose slots rest on a few visits and
// whose weekend borrows the weekdays'; its forecast lags or misses the ramps it will repeat every
// day (a morning rise). There a point reports the smaller of its score and the same score with
// the residual measured against a local linear trend of the series' points, which follows a
// smooth ramp; a spike is far from both forecasts and keeps its score. Nothing learns the lower
// report: every statistic, the peaks' block and the report curve learn what they would without
// it, so the state after the first week is the same, and the trend (two numbers) is dropped when
// it ends. A slow ramp that is itself the anomaly (a drift) is followed too, and reports less in
// a series' first week.
//
// The novelty channel does not speak for a value in the body of the series (its p10–p90;
// body.go): a new shape made of ordinary values is the aftermath of what was already judged, and
// a value stuck there is the stuck channel's news. A value that repeats the one before keeps the
// novelty level the point before was given: the value has not moved, only the reference learning
// it has, so a setting changed and held, or a stop's zeros, is one event, not a new shape each
// time the reference's drift carries the held value into another level (novelty.go). Nor does it
// speak for a zero that continues a run of zeros once one of the run's zeros has been reported at
// even odds or better (Score ≥ 0.5, a level of the score's own scale, so that no score depends on
// AlarmScore): the run's length is the stops channel's evidence, re-priced at its doublings, and the
// novelty context counting the same length again would tell the same stop a second time; until
// then, a pattern's report may be the stop's first word (detector.go).
//
// surprise.go turns each raw measure into a surprise under a normal approximation; tailCurve and
// tailRate recalibrate it by the frequencies the series really produces. Beyond the largest
// surprise a curve has seen its evidence ends; there the residual's curve of a settled series
// (older than Memory/settleDiv points) rises at the ratio its own tail reached at that top, so a
// heavy-tailed series (bursts of news, of retries) prices a burst a little past its largest as a
// little rarer, not as the normal tail's astronomically rarer; every other curve, and a young
// series' residual curve, rise there at the nominal one nat per nat. A lasting change of level
// (a deploy that doubles traffic, a new tenant) is one occasion that the residual's tail curve
// would learn as tens of points at surprises the series had never reached, discounting the new
// regime's news for weeks; it is recognised after the fact, at the close of the excursion it
// opened, by the plain level having held more than clipZ of the excursion's first deviation away
// from the seasonal prediction for Quiet points, and the curve's levels above its top before the
// excursion (or at its last ordinary point, so that routine excursions it spanned keep counting) are
// then set back to their rates then, decayed (lasting.go). The levels the series had
// reached, the baseline and the report curve keep what the change taught them. A deviation out to a value
// the series reaches on a regular schedule (a nightly job) is bounded by how often it goes that far
// (valuetail.go), unless this trip came off schedule. A point the caller knows is a count
// (ObserveCount) is worth no more than its Poisson tail at the expectation (poisson.go), to the
// residual and, at a run's first zero, to the stops channel. An event the series has not yet
// produced (a record, a zero, a run of repeats that long) is priced as one such event per tail
// horizon (tailHorizon × Memory points, over which the tails are counted), not as infinitely
// surprising; the same rate is the line below which a value's tail says nothing of its schedule.
// The most surprising channel speaks for the point, and tailCurve recalibrates it by the series'
// rate of reports; a value beyond every value the series has produced (records.go) then adds the
// rarity of such records for this series, once the series is old enough for its range to mean
// something; peaks.go reports a point when it exceeds every score of the last Quiet points, with no
// threshold of its own, unless its score is a run's held price (a stop between the run lengths the
// stops channel re-prices, a stuck value past its gate), which says nothing new however the
// calibration has drifted since it was set (save at the first point after warm-up, the first the
// rule judges). A stuck value's run not yet reported
// (its gate masked by an earlier excursion in the window, or outscored) keeps its best report and
// is judged at every point until it is, the window learning nothing from it meanwhile; a report
// of another channel meanwhile (the residual, on a held value drifting from a daily shape) pays it
// when it is at least as high: a stall is reported once, whichever channel's name is on the page,
// late rather than never. In a series' first week youth's lower report (above) lowers the
// residual's part of a report, not what a stall is owed: an owed stall reports at least its owed
// report, and a report of another channel pays it only if the report given, after youth's, is at
// least as high. Result.Score is continuous and scale-free, and
// Config.AlarmScore is the only threshold: an alarm is a report at or above it, and no score
// depends on it.
// Result.Reason names the channel that spoke (reason.go), so that an event on a value inside its
// band says why it is one.
//
// Its design decisions since issue 21 were taken by leave-one-category-out on the NAB dev set
// (bench/nab/DECISIONS.md); bench/nab/README.md has the scores and lists the constants still
// inherited from before.
//
// # What always holds
//
// A detector runs on users' live series, restored from snapshots that older versions wrote, so
// its contract holds whatever the input: any float64 value, any time.Time (repeated, out of
// order, years apart, at the limits of int64 seconds), Observe and ObserveCount mixed, any
// valid settings and zone, from a new detector or from any snapshot UnmarshalMsgpack accepts:
//
//   - no panic, and no allocation per point;
//   - Score is in [0, 1]; while the detector is not Warm it is 0, with no Peak, no Alarm and
//     ReasonNone; an Alarm is a Peak with Score at or above AlarmScore;
//   - Expected, Lower and Upper are finite, with Lower ≤ Expected ≤ Upper;
//   - a value that is NaN, ±Inf or beyond ±1e300 (maxValue: too large to take differences of)
//     is not learned: the point gets the current expectation and score 0, and the state is
//     untouched; a point earlier than the latest is learned, spaced 0 from it;
//   - every snapshot MarshalMsgpack writes, UnmarshalMsgpack accepts, and the restored detector
//     returns the same results, bit for bit, as the one that was not snapshotted. A snapshot
//     with a number no detector could have learned (beyond ±1e305, a counter beyond 2^62, a
//     count that is not a whole number ≥ 0, a negative scale, a share beyond [0, 1], an open
//     excursion's count at the largest Quiet or beyond), or with a run's state its runs do not
//     have (a stall's held price, owed report or page without the stall's price, a page with a
//     report still owed, a stop told without a run of zeros), is refused, with an error, rather
//     than restored into a detector that would produce NaN, write a snapshot it refuses or
//     carry one run's state into the next; the records' range and the previous value, which are
//     only compared and which detectors before maxValue filled with values up to
//     math.MaxFloat64, are accepted at any finite size.
//
// FuzzDetector, FuzzUnmarshalMsgpack and FuzzAnalyzer check it (make fuzz).
//
// # The analyzer
//
// Analyzer (analyzer.go) watches the operators' metric points and the top contributors of each
// rule's report (contributors.go), observes as counts the series whose metadata says they are
// (count_metrics with Unit Count; a Count rule's contributors), keeps at most max_series
// detectors (table.go), publishes AnomalyScore/ExpectedValue/LowerBand/UpperBand points for
// every warm series and an "anomaly" report and log line per alarm (event.go), and saves its
// detectors to a StateStore once each window is durable (state.go, filestore.go). Its single
// writer is the fleet's aggregator, which calls it once per window in window order.
package anomaly
