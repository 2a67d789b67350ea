package cloudwatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/internal/writable"
	"github.com/weirstream/weir/pipeline"
)

// EMF limits from the Embedded Metric Format specification.
const (
	emfMaxMetrics = 100 // MetricDefinitions per MetricDirective
	emfMaxValues  = 100 // values in one target member's array
)

// EMF is a pipeline.Sink that writes a window's Points as Embedded Metric Format JSON lines,
// one line per (dimension set, timestamp) group (more when a group exceeds the specification's
// limits or max_line_bytes). On Fargate the awslogs driver ships stdout to CloudWatch Logs,
// which extracts the metrics: no PutMetricData call, no API quota.
//
// A line is a complete JSON object written with a single Write call; give EMF a stream of its
// own (stdout, with logs on stderr) so other writers cannot interleave with it. EMF is not
// idempotent: a Write retried after an error may repeat lines already written.
type EMF struct {
	w      io.Writer
	closer io.Closer // set when EMF opened the file itself
	cfg    Config
	m      *emfMetrics
	log    *slog.Logger

	mu sync.Mutex // Write and Close are serialized; the runtime calls Write from one goroutine
}

// NewEMF returns an EMF sink writing to w. cfg must have had ApplyDefaults and Validate.
// log may be nil.
func NewEMF(w io.Writer, cfg Config, reg prometheus.Registerer, log *slog.Logger) (*EMF, error) {
	m, err := newEMFMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("cloudwatch emf: metrics: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &EMF{w: w, cfg: cfg, m: m, log: log}, nil
}

// OpenEMF returns an EMF sink writing to cfg.EMF.Path: stdout, or a file opened for appending
// (created if missing, with its directory) and closed by Close.
func OpenEMF(cfg Config, reg prometheus.Registerer, log *slog.Logger) (*EMF, error) {
	if cfg.EMF.Path == "stdout" {
		return NewEMF(os.Stdout, cfg, reg, log)
	}
	if err := CheckEMF(cfg); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(cfg.EMF.Path), 0o755); err != nil {
		return nil, fmt.Errorf("cloudwatch.emf.path: %w", err)
	}
	f, err := os.OpenFile(cfg.EMF.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cloudwatch.emf.path: %w", err)
	}
	e, err := NewEMF(f, cfg, reg, log)
	if err != nil {
		f.Close()
		return nil, err
	}
	e.closer = f
	return e, nil
}

// CheckEMF reports whether OpenEMF can open cfg.EMF.Path, without creating or changing
// anything: what `-check` runs in its place.
func CheckEMF(cfg Config) error {
	if cfg.EMF.Path == "stdout" {
		return nil
	}
	if err := writable.File(cfg.EMF.Path); err != nil {
		return fmt.Errorf("cloudwatch.emf.path: %w", err)
	}
	return nil
}

// Name implements pipeline.Sink.
func (e *EMF) Name() string { return "cloudwatch-emf" }

// Write implements pipeline.Sink: it returns once every line of out is written (and synced,
// when the writer is a file).
func (e *EMF) Write(ctx context.Context, out *pipeline.Output) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	lines, drops := encodeEMF(out.Points, e.cfg)
	for reason, n := range drops {
		e.m.dropped.WithLabelValues(reason).Add(float64(n))
		e.log.Warn("cloudwatch emf: points dropped", "reason", reason, "points", n, "window", out.Window.Start)
	}
	for _, line := range lines {
		if _, err := e.w.Write(line); err != nil {
			e.m.errors.Inc()
			return fmt.Errorf("cloudwatch emf: write: %w", err)
		}
		e.m.lines.Inc()
		e.m.bytes.Add(float64(len(line)))
	}
	if err := syncWriter(e.w); err != nil {
		e.m.errors.Inc()
		return fmt.Errorf("cloudwatch emf: sync: %w", err)
	}
	return nil
}

// Close implements pipeline.Sink.
func (e *EMF) Close(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closer != nil {
		return e.closer.Close()
	}
	return nil
}

// syncWriter makes written lines durable when w is a file. Pipes and terminals (stdout under
// the awslogs driver) cannot be synced and need not be: the reader has the bytes once Write
// returned.
func syncWriter(w io.Writer) error {
	s, ok := w.(interface{ Sync() error })
	if !ok {
		return nil
	}
	err := s.Sync()
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, os.ErrInvalid) {
		return nil
	}
	return err
}

// emfGroup is one (dimension set, timestamp) group of points: the unit of an EMF line.
type emfGroup struct {
	dims    []pipeline.Dimension
	ts      int64 // Unix milliseconds
	metrics []*emfMetric
	byName  map[string]*emfMetric
}

type emfMetric struct {
	name   string
	unit   pipeline.Unit
	values []float64
}

// encodeEMF groups points and encodes them as lines, returning the points dropped by reason.
func encodeEMF(points []pipeline.Point, cfg Config) (lines [][]byte, drops map[string]int) {
	drops = map[string]int{}
	var groups []*emfGroup
	index := map[string]*emfGroup{}
	var kb strings.Builder
	for i := range points {
		p := &points[i]
		if reason := checkPoint(p); reason != "" {
			drops[reason]++
			continue
		}
		dims := sortedDims(p.Dimensions)
		kb.Reset()
		dimsKey(&kb, dims)
		ts := p.Time.UnixMilli()
		fmt.Fprintf(&kb, "@%d", ts)
		g := index[kb.String()]
		if g == nil {
			g = &emfGroup{dims: dims, ts: ts, byName: map[string]*emfMetric{}}
			index[kb.String()] = g
			groups = append(groups, g)
		}
		for _, v := range emfValues(p) {
			if reason := g.add(v.name, p.Unit, v.values); reason != "" {
				drops[reason]++
				break
			}
		}
	}
	for _, g := range groups {
		lines = append(lines, g.lines(cfg, drops)...)
	}
	return lines, drops
}

// namedValues is one target member's values.
type namedValues struct {
	name   string
	values []float64
}

// emfValues returns the target members a point contributes. EMF has no statistic-set form, only
// values, so a StatisticSet with an integral SampleCount n of at most 100 is written as n values
// with exactly its SampleCount, Sum, Minimum and Maximum (Minimum, Maximum and n-2 copies of the
// mean of the rest): CloudWatch computes the same count, sum, min, max and average from them,
// and percentiles are unavailable for StatisticValues anyway. Larger sets are written as four
// metrics, <Name>_SampleCount, _Sum, _Minimum and _Maximum.
func emfValues(p *pipeline.Point) []namedValues {
	s := p.Stats
	if s == nil {
		return []namedValues{{p.Name, []float64{clamp(p.Value)}}}
	}
	n := s.SampleCount
	if n == float64(int(n)) && n >= 1 && n <= emfMaxValues {
		k := int(n)
		switch k {
		case 1:
			return []namedValues{{p.Name, []float64{clamp(s.Sum)}}}
		case 2:
			return []namedValues{{p.Name, []float64{clamp(s.Minimum), clamp(s.Maximum)}}}
		}
		vs := make([]float64, 0, k)
		vs = append(vs, clamp(s.Minimum), clamp(s.Maximum))
		rest := clamp((s.Sum - s.Minimum - s.Maximum) / float64(k-2))
		for len(vs) < k {
			vs = append(vs, rest)
		}
		return []namedValues{{p.Name, vs}}
	}
	return []namedValues{
		{p.Name + "_SampleCount", []float64{clamp(s.SampleCount)}},
		{p.Name + "_Sum", []float64{clamp(s.Sum)}},
		{p.Name + "_Minimum", []float64{clamp(s.Minimum)}},
		{p.Name + "_Maximum", []float64{clamp(s.Maximum)}},
	}
}

// add appends values to the group's metric name, or returns a drop reason.
func (g *emfGroup) add(name string, unit pipeline.Unit, values []float64) string {
	if name == "_aws" {
		return dropNameCollision
	}
	for _, d := range g.dims {
		if d.Name == name || d.Name == "_aws" {
			return dropNameCollision
		}
	}
	m := g.byName[name]
	if m == nil {
		m = &emfMetric{name: name, unit: unit}
		g.byName[name] = m
		g.metrics = append(g.metrics, m)
	} else if m.unit != unit {
		return dropUnitConflict
	}
	m.values = append(m.values, values...)
	return ""
}
