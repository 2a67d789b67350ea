package anomaly

import (
	"errors"
	"fmt"
	"math"
	"path"
	"time"
)

// Config is the worker's `anomaly:` section: the detector's four settings, which serve every
// series (nothing is tuned per series, and each is in units that mean the same on any series:
// points, or a score in [0, 1]), and the users' time zone; which series of each window are
// watched; and how the detectors' state is saved.
type Config struct {
	// WarmUp is the number of points (windows) a series is observed before it may alarm.
	// During warm-up Result.Warm is false, Score is 0 and no point is reported. Default 10:
	// 100 s with `make run`'s 10-second windows, 10 minutes with 60-second ones. Short on
	// purpose: the statistics start as plain averages (rate 1/n), and a channel whose baseline
	// has fewer than 10 observations does not score (surprise.go), so a young series is quiet
	// rather than alarming on its first wiggle.
	WarmUp int `yaml:"warm_up"`

	// Memory is the horizon, in points, of the slow statistics: the baselines scores are
	// calibrated against, the rates of surprise that recalibrate them, and the reference the
	// novelty model quantises values in. It sets how long a new regime (a level shift that
	// persists, a new variance) stays unusual before it is the norm. Default 6000: three weeks
	// of 5-minute points, four days of 1-minute ones.
	Memory int `yaml:"memory"`

	// AlarmScore is the score at or above which a reported point (Result.Peak) raises an anomaly
	// event: the one threshold (the score is continuous and de-duplication has none of its own).
	// Default 0.45: a calibrated surprise of 8.2 nats, a report about as rare as 1 point in 3,600 of
	// the series' own history, and about where NAB's low-false-positive profile sets its threshold on
	// the dev set (0.445 in five of the seven leave-one-category-out folds; its standard profile
	// 0.426; bench/nab/DECISIONS.md, round 95). Measured: about 9 false alarms per 10,000 points of
	// white noise, three times that in its first 1000 points, and 4 of a clean daily cycle, no more
	// in its first 1000 (detector_test.go). 0.5 halves them, and misses more: the score is calibrated
	// by how often the series reports that much, so on a series that has had an extreme excursion in
	// its last 12,000 points a new one no larger scores about 0.48 (a larger one scores by how much
	// it goes beyond: tailcurve.go).
	AlarmScore float64 `yaml:"alarm_score"`

	// Quiet is the de-duplication horizon in points: a point is reported only if its score
	// exceeds every score of the last Quiet points (peaks.go). An incident raises one event,
	// and another only if it gets worse. It is also the longest run at one level the novelty
	// model tells apart (novelty.go): a level held for longer is the same episode, not a new
	// shape each time its run doubles (a value stuck at one level is the stuck channel's news:
	// stuck.go). Default 75 (chosen by leave-one-category-out on NAB; 6 hours of 5-minute
	// points).
	Quiet int `yaml:"quiet"`

	// TimeZone is the zone whose clock the series' week and day follow, as an IANA name
	// ("Europe/Berlin", "America/New_York"). The seasonal profile splits weekdays from the
	// weekend at its midnight and the day into half hours on its clock, daylight-saving changes
	// included (zone.go): a service whose users' weekend starts at their midnight is judged
	// against the wrong profile at the week's edges when the split is hours away from it.
	// Default UTC. A fact of the users' world, not a tuned value. A snapshot restored under
	// another zone is logged with both names, and its learned profiles relearn on the new
	// clock (Detector.adopt).
	TimeZone string `yaml:"time_zone"`

	// Metrics are the names of the points watched, as path.Match patterns. Default: the
	// throughput metrics (Records, Bytes), the seven contributor rule metrics (Sum,
	// SampleCount, UniqueContributors, MaxContributorValue, Minimum, Maximum, Average) and
	// every metric whose name contains "Lag" (the lag operator's aggregates, when present).
	// ContributorValue points (contributors.contributor_points) are not in the default: the
	// per-contributor series come from the reports (top_contributors), which is the same
	// value without paying for CloudWatch metrics. The analyzer's own outputs (AnomalyScore,
	// ExpectedValue, LowerBand, UpperBand) are never watched, whatever the patterns say.
	Metrics []string `yaml:"metrics"`

	// CountMetrics are the watched metrics whose values are counts of independent events per
	// window, as path.Match patterns; a point is judged as a count only if its Unit is Count as
	// well. Default: Records (the records that arrived in the window) and SampleCount (the
	// events a contributor rule matched). A count's residual is worth no more than a Poisson
	// count's tail at the expected value (Detector.ObserveCount): on a series of small counts
	// (a few errors per window) the forecaster's deviation is learned from a handful of whole
	// numbers, and without the bound a value Poisson noise reaches once in 20 windows alarms.
	// Over-dispersed counts (most traffic) are judged as before, since the bound only lowers a
	// surprise; counts steadier than Poisson (a producer held at a fixed rate) lose
	// sensitivity: 1,000 ± 10 records a window alarm on a 5% drop through Observe, seldom as a
	// count (bench/nab/DECISIONS.md 288), so such a stream's Records belong out of this list.
	// Not counts: Bytes (a sum of sizes), UniqueContributors (a distinct count, bounded
	// by the contributors there are), the lag metrics (a backlog is a level, not arrivals),
	// Sum and the other statistics of a rule's values. The per-contributor series of a rule
	// that aggregates on Count are counts whatever this says (their value is the contributor's
	// number of matched events); those of a Sum rule are not (a sum of a field). An empty list
	// judges no metric as a count.
	CountMetrics []string `yaml:"count_metrics"`

	// ExcludeDimensions: a point carrying any of these dimensions is not watched. Default
	// ["Partition"]: partitions move between workers, so a per-partition series restarts on
	// another worker with a fresh detector; the per-stream aggregate does not.
	ExcludeDimensions []string `yaml:"exclude_dimensions"`

	// TopContributors is how many of each rule's top contributors get their own series. Default
	// 5; 0 watches no contributor. A contributor keeps its series while it is listed in the
	// rule's report at any rank, and for idle_timeout after (see contributors.go).
	TopContributors int `yaml:"top_contributors"`

	// MaxSeries caps the series watched (memory: ~6 KB each, so the default 1000 is ~6 MB,
	// and a snapshot of the same size). A new series beyond the cap is refused, and counted in
	// weir_anomaly_series_refused_total{reason="max_series"} every window it is refused, until
	// an idle series expires. First come, first kept: a burst of new series cannot evict the
	// learned state of the established ones.
	MaxSeries int `yaml:"max_series"`

	// IdleTimeout retires a series not seen for this long (a contributor: not listed in its
	// rule's report), freeing its slot. Default 24h: one daily cycle, so that a series that
	// is only present at some hours of the day keeps what it learned.
	IdleTimeout time.Duration `yaml:"idle_timeout"`

	// SnapshotEvery saves the detectors every this many windows (when a StateStore is given).
	// Default 1: a restart loses nothing it learned. Larger values trade write volume
	// (max_series × ~6 KB per save) against relearning up to that many windows.
	SnapshotEvery int `yaml:"snapshot_every"`

	// SnapshotName is the name the state is saved under in the StateStore. Default "anomaly".
	// Workers sharing a store need distinct names.
	SnapshotName string `yaml:"snapshot_name"`

	// SnapshotTimeout bounds one save. Saves run on the aggregator's goroutine (between windows), so
	// a stuck store would stall the pipeline. Default 10s.
	SnapshotTimeout time.Duration `yaml:"snapshot_timeout"`
}

// DefaultMetrics is the default Config.Metrics.
func DefaultMetrics() []string {
	return []string{
		"Records", "Bytes",
		"Sum", "SampleCount", "UniqueContributors", "MaxContributorValue", "Minimum", "Maximum", "Average",
		"*Lag*",
	}
}

// DefaultCountMetrics is the default Config.CountMetrics.
func DefaultCountMetrics() []string { return []string{"Records", "SampleCount"} }

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		WarmUp:            10,
		Memory:            6000,
		AlarmScore:        0.45,
		Quiet:             75,
		TimeZone:          defaultZone,
		Metrics:           DefaultMetrics(),
		CountMetrics:      DefaultCountMetrics(),
		ExcludeDimensions: []string{"Partition"},
		TopContributors:   5,
		MaxSeries:         1000,
		IdleTimeout:       24 * time.Hour,
		SnapshotEvery:     1,
		SnapshotName:      "anomaly",
		SnapshotTimeout:   10 * time.Second,
	}
}

// maxTopContributors keeps per-rule work and series counts in proportion: contrib's report
// lists at most 1000 contributors.
const maxTopContributors = 1000

// Validate returns every invalid field, named as in YAML under anomaly.
func (c Config) Validate() error {
	errs := []error{c.validateDetector()}
	errs = append(errs, validPatterns("anomaly.metrics", c.Metrics), validPatterns("anomaly.count_metrics", c.CountMetrics))
	for i, d := range c.ExcludeDimensions {
		if d == "" {
			errs = append(errs, fmt.Errorf("anomaly.exclude_dimensions[%d]: empty", i))
		}
	}
	if c.TopContributors < 0 || c.TopContributors > maxTopContributors {
		errs = append(errs, fmt.Errorf("anomaly.top_contributors: %d, want 0 to %d", c.TopContributors, maxTopContributors))
	}
	if c.MaxSeries < 1 {
		errs = append(errs, fmt.Errorf("anomaly.max_series: %d, want at least 1", c.MaxSeries))
	}
	if c.IdleTimeout <= 0 {
		errs = append(errs, fmt.Errorf("anomaly.idle_timeout: %v, want > 0", c.IdleTimeout))
	}
	if c.SnapshotEvery < 1 {
		errs = append(errs, fmt.Errorf("anomaly.snapshot_every: %d, want at least 1", c.SnapshotEvery))
	}
	if c.SnapshotName == "" {
		errs = append(errs, errors.New("anomaly.snapshot_name: empty"))
	}
	if c.SnapshotTimeout <= 0 {
		errs = append(errs, fmt.Errorf("anomaly.snapshot_timeout: %v, want > 0", c.SnapshotTimeout))
	}
	return errors.Join(errs...)
}

// validPatterns checks a list of path.Match patterns named field.
func validPatterns(field string, pats []string) error {
	var errs []error
	for i, m := range pats {
		if _, err := path.Match(m, ""); err != nil || m == "" {
			errs = append(errs, fmt.Errorf("%s[%d]: %q is not a valid pattern", field, i, m))
		}
	}
	return errors.Join(errs...)
}

// validateDetector checks the settings a Detector uses.
func (c Config) validateDetector() error {
	_, err := settingsOf(c)
	return err
}

// settings are the Config fields a Detector keeps (and snapshots): four numbers and the time
// zone, so that a detector stays a fixed-size value. loc is the zone resolved (nil: UTC), once per
// Analyzer: a Location holds the zone's transitions, and a copy per series would cost more
// than the series' state.
type settings struct {
	warmUp, memory int
	alarm          float64
	quiet          int
	zone           string
	loc            *time.Location
}

// maxQuiet bounds Quiet: the report rule keeps the recent maximum per block of Quiet/16
// points, and a horizon beyond a year of 1-minute points has no use.
const maxQuiet = 1 << 20

func (s settings) validate() error {
	var errs []error
	if s.warmUp < 1 {
		errs = append(errs, fmt.Errorf("anomaly.warm_up: %d, want at least 1", s.warmUp))
	}
	if s.memory < 10 {
		errs = append(errs, fmt.Errorf("anomaly.memory: %d, want at least 10 points", s.memory))
	}
	if math.IsNaN(s.alarm) || s.alarm <= 0 || s.alarm >= 1 {
		errs = append(errs, fmt.Errorf("anomaly.alarm_score: %v, want a score in (0, 1)", s.alarm))
	}
	if s.quiet < 1 || s.quiet > maxQuiet {
		errs = append(errs, fmt.Errorf("anomaly.quiet: %d, want 1 to %d", s.quiet, maxQuiet))
	}
	return errors.Join(errs...)
}
