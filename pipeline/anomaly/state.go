package anomaly

import (
	"errors"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/weirstream/weir/pipeline"
)

// The analyzer's state is saved as one msgpack document: a version, the window count, and
// every series in activity order (least recently present first) with its identity, its
// bookkeeping and its detector's own snapshot (snapshot.go). Restoring it gives an analyzer
// that produces exactly what the saved one would have: same detectors bit for bit, same
// expiry order, same per-rule visiting order (table.go).
//
// When it is saved matters for what a crash can lose. It is encoded in Analyze, after the
// window's values were learned, and saved only once the sinks have made that window durable
// (Analyzer.Durable, pipeline.DurableObserver): a restore resumes right after the last durable
// window, and the windows replayed after a crash, which the restored detectors have not
// learned, are recomputed exactly.

// stateVersion changes whenever stateFile or seriesState change incompatibly.
const stateVersion = 1

type stateFile struct {
	Version int           `msgpack:"version"`
	Seq     int64         `msgpack:"seq"`
	Series  []seriesState `msgpack:"series"`
}

type seriesState struct {
	// ID is redundant with Metric and the dimensions; restore recomputes it and refuses the
	// series if they differ, which catches a change of the id format without a version bump.
	ID        string   `msgpack:"id"`
	Metric    string   `msgpack:"metric"`
	DimNames  []string `msgpack:"dim_names"`
	DimValues []string `msgpack:"dim_values"`
	Rule      string   `msgpack:"rule,omitempty"`
	Keys      []string `msgpack:"keys,omitempty"`
	LastSeen  int64    `msgpack:"last_seen"`
	Touched   int64    `msgpack:"touched"`
	Expected  float64  `msgpack:"expected"`
	// Detector is Detector.MarshalMsgpack's output, kept raw so that one bad detector costs
	// one series, not the whole restore.
	Detector msgpack.RawMessage `msgpack:"detector"`
}

// encode returns the analyzer's state.
func (a *Analyzer) encode() ([]byte, error) {
	st := stateFile{Version: stateVersion, Seq: a.seq, Series: make([]seriesState, 0, a.t.len())}
	for w := a.t.head; w != nil; w = w.next {
		det, err := w.det.MarshalMsgpack()
		if err != nil {
			return nil, fmt.Errorf("series %s: %w", w.id, err)
		}
		s := seriesState{
			ID: w.id, Metric: w.metric, Rule: w.rule, Keys: w.keys,
			LastSeen: w.lastSeen, Touched: w.touched, Expected: w.expected, Detector: det,
			DimNames: make([]string, len(w.dims)), DimValues: make([]string, len(w.dims)),
		}
		for i, d := range w.dims {
			s.DimNames[i], s.DimValues[i] = d.Name, d.Value
		}
		st.Series = append(st.Series, s)
	}
	return msgpack.Marshal(&st)
}

// decode replaces the analyzer's (empty) state with data. A series that cannot be restored is
// refused and counted (reason restore); so are series beyond anomaly.max_series if it was
// lowered, keeping the most recently present ones. Restored detectors adopt the configured
// detector settings, so that a change of alarm_score, quiet or time_zone applies to them too
// (of time_zone, with one warning naming both zones: restoreSeries says what follows).
func (a *Analyzer) decode(data []byte) error {
	var st stateFile
	if err := msgpack.Unmarshal(data, &st); err != nil {
		return err
	}
	if st.Version != stateVersion {
		return fmt.Errorf("state version %d, want %d", st.Version, stateVersion)
	}
	if st.Seq < 0 {
		return errors.New("negative window count")
	}
	ss := st.Series
	if over := len(ss) - a.cfg.MaxSeries; over > 0 {
		a.m.refuseMax.Add(float64(over))
		ss = ss[over:]
	}
	a.seq = st.Seq
	moved, from := 0, ""
	for i := range ss {
		w, zone, err := a.restoreSeries(&ss[i])
		if err != nil {
			a.m.refuseRestore.Inc()
			a.log.Warn("anomaly: dropping a series from the snapshot", "series", ss[i].ID, "err", err)
			continue
		}
		if zone != a.det.zone {
			moved, from = moved+1, zone
		}
		a.t.add(w)
	}
	if moved > 0 {
		a.log.Warn("anomaly: the snapshot's time-of-day profiles were learned on another time zone's clock; they relearn on this one's",
			"snapshot_time_zone", from, "time_zone", a.det.zone, "series", moved)
	}
	return nil
}

// restoreSeries rebuilds one series from its saved state. It returns the zone its detector's
// snapshot was taken in.
func (a *Analyzer) restoreSeries(s *seriesState) (*watch, string, error) {
	if len(s.DimNames) != len(s.DimValues) {
		return nil, "", errors.New("dimension names and values differ in number")
	}
	dims := make([]pipeline.Dimension, len(s.DimNames))
	for i := range dims {
		dims[i] = pipeline.Dimension{Name: s.DimNames[i], Value: s.DimValues[i]}
	}
	sortDims(dims)
	if !publishable(dims) {
		return nil, "", errors.New("dimensions not publishable")
	}
	if id := string(appendID(nil, s.Metric, dims)); id != s.ID {
		return nil, "", fmt.Errorf("id %q does not match its metric and dimensions (%q)", s.ID, id)
	}
	if _, dup := a.t.byID[s.ID]; dup {
		return nil, "", errors.New("duplicate series")
	}
	if (s.Rule == "") != (len(s.Keys) == 0) {
		return nil, "", errors.New("a contributor series needs both a rule and keys")
	}
	w := newWatch(s.ID, s.Metric, dims, a.det)
	if err := w.det.UnmarshalMsgpack(s.Detector); err != nil {
		return nil, "", err
	}
	zone := w.det.adopt(a.det)
	w.rule, w.keys = s.Rule, s.Keys
	w.lastSeen, w.touched, w.expected = s.LastSeen, s.Touched, s.Expected
	return w, zone, nil
}
