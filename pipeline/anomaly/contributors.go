package anomaly

import (
	"time"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/contrib"
)

// Per-contributor series answer "which tenant is anomalous", not only "something is". Their
// values come from each rule's report (Kind "report", Body contrib.Report): the series of a
// contributor is ContributorValue{Contributor="<keys joined by ,>",RuleName="<rule>"}, the
// same metric and dimensions as contrib's own ContributorValue points, and its value is the
// contributor's ApproximateAggregateValue.
//
// Which contributors: a series is created for a contributor listed among the first
// anomaly.top_contributors of its rule's report (bounded count per rule and window; the table's
// cap bounds the total). Once created, it is observed every window the rule reports, whether
// or not the contributor is still that high:
//
//   - listed at any rank: its listed value;
//   - not listed, while the report lists some contributors: its true value is unknown, but
//     bounded. A contributor not listed is either tracked by the heavy-hitters sketch below the
//     listed ones, or not tracked at all (then below the sketch's error bound, which is at most
//     the smallest tracked count); either way its value is at most U, the smallest listed value.
//     Absence from the top-N is not zero: feeding 0 would make every contributor that slips
//     from rank 10 to 11 look like a collapse. So:
//   - if U is below what the detector expected, the series has certainly fallen at least that
//     far, and U is fed (the event, if any, says "censored": the value is an upper bound). A
//     tenant that disappears is caught, and the drop is never overstated;
//   - otherwise U is consistent with normal and says nothing: the window is skipped for the
//     series (weir_anomaly_values_skipped_total{reason="unlisted"}), as for any absent series;
//   - not listed because the report lists none: the rule matched no events in the window, so
//     every contributor's value is exactly 0, and 0 is fed.
//
// A contributor series is "present" (for anomaly.idle_timeout) only in the windows it is
// listed; one unlisted for that long is retired, freeing its slot for current contributors.

// report observes the per-contributor series of one report, if it is a rule's report.
func (a *Analyzer) report(rep *pipeline.Report, start time.Time) {
	if rep.Kind != "report" {
		return
	}
	switch r := rep.Body.(type) {
	case contrib.Report:
		a.contributors(r.RuleName, r.AggregationStatistic == countStatistic, r.Contributors, start)
	case *contrib.Report:
		if r != nil {
			a.contributors(r.RuleName, r.AggregationStatistic == countStatistic, r.Contributors, start)
		}
	}
}

// countStatistic is the AggregationStatistic of a rule that counts matched events: each
// contributor's value is its number of events in the window, a count (Detector.ObserveCount).
// A Sum rule's contributor values are sums of a field, which need not be.
const countStatistic = "Count"

// contributors observes one rule's contributor series. cs is the report's list, largest first;
// count says the rule aggregates on Count. It is read from every report, so a rule redefined
// from Count to Sum (or back) is judged by what it reports now.
func (a *Analyzer) contributors(rule string, count bool, cs []contrib.Contributor, start time.Time) {
	for i := range cs {
		c := &cs[i]
		a.val = appendContributor(a.val[:0], c.Keys)
		a.id = appendContributorID(a.id[:0], a.val, rule)
		w := a.t.lookup(a.id)
		if w == nil {
			if i >= a.cfg.TopContributors {
				continue // listed, but too low to start a series
			}
			// Sorted by name: Contributor < RuleName.
			a.dims = append(a.dims[:0],
				pipeline.Dimension{Name: contributorDimension, Value: string(a.val)},
				pipeline.Dimension{Name: ruleDimension, Value: rule})
			if w = a.admit(contributorMetric, a.dims, rule, c.Keys); w == nil {
				continue
			}
		}
		a.t.touch(w, a.seq)
		a.observe(w, start, c.ApproximateAggregateValue, false, count)
	}

	ns := start.UnixNano()
	for _, w := range a.t.byRule[rule] {
		if w.touched == a.seq {
			continue // listed, and observed above
		}
		if ns <= w.lastSeen {
			a.m.skipStale.Inc()
			continue
		}
		if len(cs) == 0 {
			a.observe(w, start, 0, false, count) // no events: exactly 0
			continue
		}
		bound := cs[len(cs)-1].ApproximateAggregateValue
		if bound < w.expected {
			// A count bounded above: its Poisson tail below the expectation is no larger
			// than the true value's, so the bound never overstates the drop either.
			a.observe(w, start, bound, true, count)
		} else {
			a.m.skipUnlisted.Inc()
		}
	}
}
