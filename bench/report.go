package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// report is the whole run: where, with what settings, every run, and what they add up to.
type report struct {
	Machine   machine   `json:"machine"`
	Options   options   `json:"options"`
	StartedAt time.Time `json:"started_at"`
	Seconds   float64   `json:"seconds"`
	// Summary has one entry per scenario (medians over repetitions).
	Summary []summary `json:"summary"`
	// Ratios pair each scenario with a baseline measured in the same run: the median of the
	// per-repetition ratios where both ran in every repetition, else the ratio to the baseline's
	// median.
	Ratios              map[string]ratio `json:"ratios"`
	Targets             []target         `json:"targets"`
	ProducerMaxBehindMS float64          `json:"latency_producer_max_behind_ms,omitempty"`
	Runs                []result         `json:"runs"`

	started time.Time
}

type summary struct {
	Name             string  `json:"name"`
	Runs             int     `json:"runs"`
	RecordsPerSec    float64 `json:"records_per_sec"`
	RecordsPerSecMin float64 `json:"records_per_sec_min"`
	RecordsPerSecMax float64 `json:"records_per_sec_max"`
	RecordsPerCPUSec float64 `json:"records_per_cpu_sec"`
	MBPerSec         float64 `json:"mb_per_sec"`
	// PeakRSSBytes is the highest over the repetitions.
	PeakRSSBytes   int64   `json:"peak_rss_bytes"`
	DurableSeconds float64 `json:"durable_seconds,omitempty"`
	Distinct       int64   `json:"distinct_contributors,omitempty"`
}

type ratio struct {
	Value  float64   `json:"value"`
	PerRep []float64 `json:"per_rep,omitempty"`
}

type target struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Want  string  `json:"want"`
	Met   bool    `json:"met"`
}

func newReport(o options) *report {
	return &report{Machine: thisMachine(), Options: o, StartedAt: time.Now().UTC().Truncate(time.Second), started: time.Now()}
}

// runsOf returns the runs of a scenario, in order.
func (r *report) runsOf(name string) []result {
	var out []result
	for _, x := range r.Runs {
		if x.Name == name {
			out = append(out, x)
		}
	}
	return out
}

// median of f over a scenario's runs; 0 when it did not run.
func (r *report) median(name string, f func(result) float64) float64 {
	var v []float64
	for _, x := range r.runsOf(name) {
		v = append(v, f(x))
	}
	return median(v)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func rate(x result) float64 { return x.RecordsPerSec }

func cpuRate(x result) float64 { return x.RecordsPerCPUSec }

// ratioOf compares the rates of scenario a and baseline b.
func (r *report) ratioOf(a, b string) (ratio, bool) {
	ra, rb := r.runsOf(a), r.runsOf(b)
	if len(ra) == 0 || len(rb) == 0 {
		return ratio{}, false
	}
	if len(ra) == len(rb) {
		var per []float64
		for i := range ra {
			per = append(per, ra[i].RecordsPerSec/rb[i].RecordsPerSec)
		}
		return ratio{Value: median(per), PerRep: per}, true
	}
	return ratio{Value: r.median(a, rate) / r.median(b, rate)}, true
}

// finish computes the summary, the ratios and the targets.
func (r *report) finish() {
	r.Seconds = time.Since(r.started).Seconds()
	var names []string
	for _, x := range r.Runs {
		if !slices.Contains(names, x.Name) {
			names = append(names, x.Name)
		}
	}
	for _, n := range names {
		runs := r.runsOf(n)
		s := summary{Name: n, Runs: len(runs), RecordsPerSec: r.median(n, rate),
			RecordsPerSecMin: runs[0].RecordsPerSec, RecordsPerSecMax: runs[0].RecordsPerSec,
			RecordsPerCPUSec: r.median(n, func(x result) float64 { return x.RecordsPerCPUSec }),
			MBPerSec:         r.median(n, func(x result) float64 { return x.MBPerSec }),
			DurableSeconds:   r.median(n, func(x result) float64 { return x.DurableSeconds })}
		for _, x := range runs {
			s.RecordsPerSecMin = min(s.RecordsPerSecMin, x.RecordsPerSec)
			s.RecordsPerSecMax = max(s.RecordsPerSecMax, x.RecordsPerSec)
			s.PeakRSSBytes = max(s.PeakRSSBytes, x.PeakRSSBytes)
			s.Distinct = x.Distinct
		}
		r.Summary = append(r.Summary, s)
	}
	r.Ratios = map[string]ratio{}
	pairs := [][2]string{{"standard", "baseline-poll"}, {"standard", "baseline-decode"},
		{"baseline-decode", "baseline-poll"}, {"msgpack", "standard"}, {"msgpack", "baseline-poll"},
		{"stall", "standard"}}
	for _, n := range names {
		if len(n) > 5 && n[:5] == "keys-" {
			pairs = append(pairs, [2]string{n, "baseline-poll"}, [2]string{n, "standard"})
		}
	}
	for _, p := range pairs {
		if q, ok := r.ratioOf(p[0], p[1]); ok {
			r.Ratios[p[0]+"/"+p[1]] = q
		}
	}
	// The live runs' records/s would count their quiet spells: they are compared per
	// CPU-second, and per second in which they had records to process.
	for _, live := range []string{"live-messy", "live-clean"} {
		m := r.runsOf(live)
		if len(m) == 0 || m[0].Messy == nil {
			continue
		}
		for _, ref := range []string{"standard", "live-clean"} {
			if ref == live {
				continue
			}
			if v := r.median(ref, cpuRate); v > 0 {
				r.Ratios[live+"/"+ref+" (records per CPU-s)"] = ratio{Value: m[0].RecordsPerCPUSec / v}
			}
		}
		if std, busy := r.median("standard", rate), m[0].Messy.BusySeconds; std > 0 && busy > 0 {
			r.Ratios[live+"/standard (records per busy s)"] = ratio{Value: float64(m[0].Records) / busy / std}
		}
	}
	r.targets()
}

func (r *report) targets() {
	add := func(name string, v float64, want string, met bool) {
		r.Targets = append(r.Targets, target{Name: name, Value: v, Want: want, Met: met})
	}
	if q, ok := r.Ratios["standard/baseline-poll"]; ok {
		add("standard ÷ bare poll-and-count", q.Value, "≥ 0.5", q.Value >= 0.5)
	}
	if q, ok := r.Ratios["standard/baseline-decode"]; ok {
		add("standard ÷ bare decode-and-count", q.Value, "≥ 1.25", q.Value >= 1.25)
	}
	if runs := r.runsOf("standard"); len(runs) > 0 {
		var peak int64
		for _, x := range runs {
			peak = max(peak, x.PeakRSSBytes)
		}
		mib := float64(peak) / (1 << 20)
		add("standard peak RSS (MiB)", mib, "≤ 256", peak > 0 && mib <= 256)
	}
	if runs := r.runsOf("stall"); len(runs) > 0 && runs[0].Stall != nil {
		st := runs[0].Stall
		if st.RSSBeforeBytes > 0 {
			add("stall: peak RSS from the stall on ÷ peak before it − 1", st.RSSGrowthInRun, "≤ 0.10", st.RSSGrowthInRun <= 0.10)
		}
		add("stall recovery to ≥ 90% of steady rate (s)", st.RecoverySeconds, "≤ 10", st.RecoverySeconds >= 0 && st.RecoverySeconds <= 10)
	}
	if runs := r.runsOf("latency"); len(runs) > 0 && runs[0].Latency != nil {
		p99 := runs[0].Latency.ToState.P99
		add("latency p99 broker append → window state (ms)", p99, "≤ 100", p99 <= 100)
	}
	if q, ok := r.Ratios["msgpack/standard"]; ok {
		add("msgpack ÷ standard (JSON)", q.Value, "≥ 1.0", q.Value >= 1.0)
	}
	if m := r.runsOf("live-messy"); len(m) > 0 && m[0].Messy != nil {
		n := len(m[0].Messy.Mismatches)
		add("live-messy: counts differing from produced (by reason and window)", float64(n), "= 0", n == 0)
		if q, ok := r.Ratios["live-messy/live-clean (records per CPU-s)"]; ok {
			add("live-messy ÷ live-clean (records per CPU-second)", q.Value, "≥ 0.9", q.Value >= 0.9)
		}
	}
}

// stallGrowth compares the stall run's peak RSS with the highest of the standard runs: shown
// beside the target, not as it, because a 2 M-record standard run ends before its heap has
// grown to its steady size (its RSS still rises at the end) while the stall run drains three
// times as much, so the difference mixes run length into the stall's cost.
func (r *report) stallGrowth() (float64, bool) {
	stall, std := r.runsOf("stall"), r.runsOf("standard")
	var peak int64
	for _, x := range std {
		peak = max(peak, x.PeakRSSBytes)
	}
	if len(stall) == 0 || peak == 0 {
		return 0, false
	}
	return float64(stall[0].PeakRSSBytes)/float64(peak) - 1, true
}

// write puts results.json, summary.md and the plots into dir ("" writes nothing).
func (r *report) write(dir string) error {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"results.json": append(raw, '\n'),
		"summary.md":   []byte(r.markdown()),
		"rate.svg":     r.rateSVG(),
	}
	if lat := r.runsOf("latency"); len(lat) > 0 && lat[0].Latency != nil {
		files["latency.svg"] = latencySVG(lat[0].Latency)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
