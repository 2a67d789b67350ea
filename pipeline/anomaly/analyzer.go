package anomaly

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/pipeline"
)

// Analyzer runs a Detector on every watched series of each window's Output (a pipeline.Analyzer):
//
//   - metric series: the points the operators emitted whose name matches anomaly.metrics and
//     that carry none of anomaly.exclude_dimensions (by default per-stream throughput, the
//     contributor rule metrics, lag aggregates);
//   - per-contributor series: the top anomaly.top_contributors contributors of each rule's
//     report (contributors.go).
//
// For each series observed it appends AnomalyScore, ExpectedValue, LowerBand and UpperBand
// points, and for each alarm an "anomaly" report (Event) and a log line (event.go). It encodes
// its detectors every anomaly.snapshot_every windows, saves them to a StateStore once that
// window is durable (Durable), and restores them in NewAnalyzer (state.go).
//
// A series absent from a window is not observed in it: a missing point is ambiguous (no
// records, or the partitions moved to another worker), and a detector taught zeros for
// windows it did not see would alarm on every rebalance. Each series is observed at most once
// per window, and only for windows later than the last it observed.
//
// Concurrency: Analyze is called by the aggregator's goroutine only, one window at a time, in window
// order (pipeline.Analyzer's contract), so the series table and scratch buffers take no locks.
// It must not be called concurrently, and it does not wait on the store. Durable blocks while it
// saves a snapshot, for at most anomaly.snapshot_timeout.
type Analyzer struct {
	cfg   Config
	det   settings // cfg's detector settings, the time zone resolved once for every series
	store StateStore
	log   *slog.Logger
	m     *metrics
	t     *table

	// seq counts the windows analyzed (saved with the detectors); idle_timeout is measured in
	// windows, not in wall time, so that a worker that was down for longer than idle_timeout
	// does not retire every series it restores.
	seq int64
	// sinceSave counts windows since the last snapshot.
	sinceSave int
	// pending are snapshots waiting for their window to be durable; pendingMu guards it because
	// pipeline.DurableObserver does not promise Durable the goroutine of Analyze (the
	// aggregator calls both from its own).
	pendingMu sync.Mutex
	pending   []pendingSnapshot

	// match caches what the patterns say of a metric name: names come from a fixed set of
	// operators, so it stays small; it is bounded anyway (maxMatchCache).
	match map[string]nameMatch

	// Scratch, reused every window so that steady-state Analyze allocates only the grown
	// Points slice: the id of the series being looked up, its sorted dimensions, a
	// contributor's joined keys, and the window's observations.
	id   []byte
	val  []byte
	dims []pipeline.Dimension
	obs  []observation
}

var _ pipeline.Analyzer = (*Analyzer)(nil)

// maxMatchCache bounds the metric-name cache; names beyond it are matched every time.
const maxMatchCache = 1024

// NewAnalyzer builds an Analyzer and restores the detectors saved in store under
// cfg.SnapshotName. store may be nil: nothing is saved or restored. A snapshot that cannot be
// decoded is logged, counted (weir_anomaly_snapshot_errors_total{op="decode"}) and ignored:
// the detectors relearn, which is better than a worker that cannot start. An error from
// store.Load other than ErrStateNotFound fails NewAnalyzer: the store may be briefly
// unavailable, and starting empty would throw away the saved state at the next save.
func NewAnalyzer(cfg Config, store StateStore, reg prometheus.Registerer, log *slog.Logger) (*Analyzer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	det, err := settingsOf(cfg)
	if err != nil {
		return nil, err // Validate resolved the same settings: not expected
	}
	a := &Analyzer{
		cfg:   cfg,
		det:   det,
		store: store,
		log:   log,
		m:     newMetrics(reg),
		t:     newTable(cfg.MaxSeries),
		match: make(map[string]nameMatch),
	}
	if store != nil {
		if err := a.restore(); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Analyze implements pipeline.Analyzer.
func (a *Analyzer) Analyze(out *pipeline.Output) {
	a.seq++
	if period := out.Window.End.Sub(out.Window.Start); period > 0 {
		idle := int64((a.cfg.IdleTimeout + period - 1) / period)
		if n := a.t.expire(a.seq - idle); n > 0 {
			a.m.expired.Add(float64(n))
		}
	}
	a.obs = a.obs[:0]
	start := out.Window.Start
	points := out.Points // the operators' points: ours are appended after, by publish
	for i := range points {
		a.point(&points[i], start)
	}
	if a.cfg.TopContributors > 0 {
		for i := range out.Reports {
			a.report(&out.Reports[i], start)
		}
	}
	a.publish(out)
	a.m.series.Set(float64(a.t.len()))
	if a.store != nil {
		if a.sinceSave++; a.sinceSave >= a.cfg.SnapshotEvery {
			a.sinceSave = 0
			a.snapshot(out)
		}
	}
}

// point observes p if it belongs to a watched series.
func (a *Analyzer) point(p *pipeline.Point, start time.Time) {
	m := a.matchName(p.Name)
	if !m.watched || hasAny(p.Dimensions, a.cfg.ExcludeDimensions) {
		return
	}
	if p.Stats != nil {
		// A statistic set has no one value to watch (its mean? its sum?); no operator emits
		// them yet. Counted, so a new operator that does is noticed.
		a.m.skipStats.Inc()
		return
	}
	a.dims = append(a.dims[:0], p.Dimensions...)
	sortDims(a.dims)
	a.id = appendID(a.id[:0], p.Name, a.dims)
	w := a.t.lookup(a.id)
	if w == nil {
		if w = a.admit(p.Name, a.dims, "", nil); w == nil {
			return
		}
	}
	a.t.touch(w, a.seq)
	// The unit is read every point rather than kept with the series: a count is a property of
	// what the operator emits, and nothing about it needs saving.
	a.observe(w, start, p.Value, false, m.count && p.Unit == pipeline.UnitCount)
}

// nameMatch is what the configured patterns say of a metric name.
type nameMatch struct {
	watched bool // in anomaly.metrics (and not one of the analyzer's own outputs)
	count   bool // watched and in anomaly.count_metrics
}

// matchName returns what the patterns say of points named name.
func (a *Analyzer) matchName(name string) nameMatch {
	if m, ok := a.match[name]; ok {
		return m
	}
	var m nameMatch
	if !isOutput(name) {
		m.watched = matchAny(a.cfg.Metrics, name)
		m.count = m.watched && matchAny(a.cfg.CountMetrics, name)
	}
	if len(a.match) < maxMatchCache {
		a.match[name] = m
	}
	return m
}

// matchAny reports whether name matches one of pats (checked by Validate).
func matchAny(pats []string, name string) bool {
	for _, pat := range pats {
		if ok, _ := path.Match(pat, name); ok {
			return true
		}
	}
	return false
}

// admit creates the series whose id is in a.id, or refuses it (counted) and returns nil.
func (a *Analyzer) admit(metric string, dims []pipeline.Dimension, rule string, keys []string) *watch {
	if !publishable(dims) {
		a.m.refuseDims.Inc()
		return nil
	}
	if a.t.full() {
		a.m.refuseMax.Inc()
		return nil
	}
	w := newWatch(string(a.id), metric, dims, a.det)
	if rule != "" {
		w.rule = rule
		w.keys = append([]string(nil), keys...)
	}
	a.t.add(w)
	return w
}

// observe feeds v, the series' value in the window starting at start, to its detector; count
// says the value is a count of independent events (Detector.ObserveCount).
//
// The first window a fresh analyzer (one that restored nothing) sees is not fed: the worker
// may have started inside it, and a partial window's value, learned as the series' first
// point, widens its band for the next hundred windows (in the demo, a 2× traffic spike at
// window 14 scored 0.1 behind a first window of 1,642 records against 20,000). A restored
// analyzer resumes after its last durable window, which replays whole.
func (a *Analyzer) observe(w *watch, start time.Time, v float64, censored, count bool) {
	ns := start.UnixNano()
	if ns <= w.lastSeen {
		a.m.skipStale.Inc()
		return
	}
	if a.seq == 1 {
		a.m.skipFirst.Inc()
		return
	}
	var r Result
	if count {
		r = w.det.ObserveCount(start, v)
	} else {
		r = w.det.Observe(start, v)
	}
	w.lastSeen = ns
	w.expected = r.Expected
	if learnable(v) {
		a.m.observations.Inc()
	} else {
		// Not learned (NaN, ±Inf, beyond ±1e300: Detector.Observe), and counted, so that an
		// exporter writing such values is noticed; the series still publishes its expectation,
		// with score 0, so that its band does not vanish from the dashboards for the window.
		a.m.skipValue.Inc()
	}
	a.obs = append(a.obs, observation{w: w, value: v, censored: censored, r: r})
}

// snapshot encodes every detector now, as of out, and keeps the bytes until out is durable
// (see Durable): saving earlier would let a crash replay windows the restored detectors had
// already learned, which they skip, losing those windows' anomaly output.
func (a *Analyzer) snapshot(out *pipeline.Output) {
	data, err := a.encode()
	if err != nil {
		a.m.snapshotErrors.WithLabelValues("encode").Inc()
		a.log.Error("anomaly: encoding the detector snapshot", "err", err)
		return
	}
	a.pendingMu.Lock()
	defer a.pendingMu.Unlock()
	if len(a.pending) == maxPendingSnapshots {
		// The sinks are far behind; an older snapshot is superseded by any newer one that
		// becomes durable, so dropping the oldest loses nothing but a save.
		a.pending = append(a.pending[:0], a.pending[1:]...)
		a.m.snapshotErrors.WithLabelValues("superseded").Inc()
	}
	a.pending = append(a.pending, pendingSnapshot{out: out, data: data})
}

// maxPendingSnapshots bounds the snapshots waiting for their window to become durable.
const maxPendingSnapshots = 8

type pendingSnapshot struct {
	out  *pipeline.Output
	data []byte
}

// Durable implements pipeline.DurableObserver: the snapshot taken with out (and any older
// one) can now be saved.
func (a *Analyzer) Durable(out *pipeline.Output) {
	a.pendingMu.Lock()
	defer a.pendingMu.Unlock()
	for i, p := range a.pending {
		if p.out != out {
			continue
		}
		a.save(p.data)
		a.pending = append(a.pending[:0], a.pending[i+1:]...)
		return
	}
}

// save stores data under cfg.SnapshotName. A failure is logged and counted; the next window
// tries again with newer state.
func (a *Analyzer) save(data []byte) {
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.SnapshotTimeout)
	defer cancel()
	if err := a.store.Save(ctx, a.cfg.SnapshotName, data); err != nil {
		a.m.snapshotErrors.WithLabelValues("save").Inc()
		a.log.Error("anomaly: saving the detector snapshot", "name", a.cfg.SnapshotName, "err", err)
		return
	}
	a.m.snapshotBytes.Set(float64(len(data)))
	a.m.snapshotSecs.Observe(time.Since(began).Seconds())
}

// restore loads the saved detectors, if any.
func (a *Analyzer) restore() error {
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.SnapshotTimeout)
	defer cancel()
	data, err := a.store.Load(ctx, a.cfg.SnapshotName)
	if errors.Is(err, ErrStateNotFound) || errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		a.m.snapshotErrors.WithLabelValues("load").Inc()
		return fmt.Errorf("anomaly: restoring %q: %w", a.cfg.SnapshotName, err)
	}
	if err := a.decode(data); err != nil {
		a.m.snapshotErrors.WithLabelValues("decode").Inc()
		a.log.Warn("anomaly: ignoring an unreadable detector snapshot; detectors start afresh",
			"name", a.cfg.SnapshotName, "bytes", len(data), "err", err)
		return nil
	}
	a.m.snapshotBytes.Set(float64(len(data)))
	a.m.series.Set(float64(a.t.len()))
	a.log.Info("anomaly: detectors restored", "name", a.cfg.SnapshotName, "series", a.t.len(), "bytes", len(data))
	return nil
}
