package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	// Ratios pair each scenario with a baseline measured in the same run, per CPU-second and
	// per second: the median of the per-repetition ratios where both ran in every repetition,
	// else the ratio of the medians.
	Ratios  map[string]ratio `json:"ratios"`
	Targets []target         `json:"targets"`
	// TargetsBefore are the weir targets of the -before build, measured in the same run.
	TargetsBefore       []target `json:"targets_before,omitempty"`
	ProducerMaxBehindMS float64  `json:"latency_producer_max_behind_ms,omitempty"`
	Runs                []result `json:"runs"`

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

// ratio compares two scenarios two ways. Records per CPU-second is the headline: what a record
// costs, which another process on the machine changes little, and what sizes a fleet. Records
// per second (wall clock) says what one worker drains, which a busy machine drags down, and
// which weir's runners on every core can win over a one-core consumer without costing less.
// A zero is a measure not taken (the live runs have no wall-clock rate to compare).
type ratio struct {
	CPU        float64   `json:"cpu,omitempty"`
	CPUPerRep  []float64 `json:"cpu_per_rep,omitempty"`
	Wall       float64   `json:"wall,omitempty"`
	WallPerRep []float64 `json:"wall_per_rep,omitempty"`
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

// ratioOf compares scenario a with baseline b: repetition by repetition where both ran once in
// each of the same repetitions, else median against median.
func (r *report) ratioOf(a, b string) (ratio, bool) {
	ra, rb := r.runsOf(a), r.runsOf(b)
	if len(ra) == 0 || len(rb) == 0 {
		return ratio{}, false
	}
	paired := len(ra) == len(rb)
	for i := range ra {
		paired = paired && ra[i].Rep == rb[i].Rep && (i == 0 || ra[i].Rep != ra[i-1].Rep)
	}
	if !paired {
		return ratio{CPU: r.median(a, cpuRate) / r.median(b, cpuRate), Wall: r.median(a, rate) / r.median(b, rate)}, true
	}
	var q ratio
	for i := range ra {
		q.CPUPerRep = append(q.CPUPerRep, ra[i].RecordsPerCPUSec/rb[i].RecordsPerCPUSec)
		q.WallPerRep = append(q.WallPerRep, ra[i].RecordsPerSec/rb[i].RecordsPerSec)
	}
	q.CPU, q.Wall = median(q.CPUPerRep), median(q.WallPerRep)
	return q, true
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
	pairs := [][2]string{{"standard", "baseline-poll"}, {"standard", "baseline-decode-parallel"},
		{"standard", "baseline-decode"}, {"baseline-decode", "baseline-poll"},
		{"baseline-decode-parallel", "baseline-poll"}, {"msgpack", "standard"},
		{"msgpack", "baseline-poll"}, {"stall", "standard"}}
	for _, n := range names {
		if strings.HasPrefix(n, "keys-") && !strings.HasSuffix(n, beforeSuffix) {
			pairs = append(pairs, [2]string{n, "baseline-poll"}, [2]string{n, "standard"})
		}
	}
	if slices.Contains(names, "standard"+beforeSuffix) {
		// The earlier build against the same baselines, and each run against its earlier self.
		for _, p := range slices.Clone(pairs) {
			if slices.Contains(names, p[0]+beforeSuffix) && !strings.HasPrefix(p[0], "baseline") && p[0] != "stall" {
				b := p[1]
				if !strings.HasPrefix(b, "baseline") {
					b += beforeSuffix
				}
				pairs = append(pairs, [2]string{p[0] + beforeSuffix, b})
			}
		}
		for _, n := range names {
			if strings.HasSuffix(n, beforeSuffix) {
				pairs = append(pairs, [2]string{strings.TrimSuffix(n, beforeSuffix), n})
			}
		}
	}
	for _, p := range pairs {
		if q, ok := r.ratioOf(p[0], p[1]); ok {
			r.Ratios[p[0]+"/"+p[1]] = q
		}
	}
	// The live runs' records/s would count their quiet spells: they are compared per
	// CPU-second, and against standard's drain per second in which they had records to
	// process (the wall-clock column).
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
				r.Ratios[live+"/"+ref] = ratio{CPU: m[0].RecordsPerCPUSec / v}
			}
		}
		if std, busy := r.median("standard", rate), m[0].Messy.BusySeconds; std > 0 && busy > 0 {
			q := r.Ratios[live+"/standard"]
			q.Wall = float64(m[0].Records) / busy / std
			r.Ratios[live+"/standard"] = q
		}
	}
	r.targets()
}

// The targets of issue 22 (records per CPU-second against both baselines, wall clock against
// the bare consumer, memory, many contributors, msgpack against JSON) and those kept from
// earlier issues (stall, latency, live-messy).
const (
	wantCPUvsPoll     = 0.7 // standard ÷ baseline-poll, records per CPU-second
	wantCPUvsParallel = 1.2 // standard ÷ baseline-decode-parallel, records per CPU-second
	wantWallVsPoll    = 0.9 // standard ÷ baseline-poll, records per second
	wantPeakRSSMiB    = 128 // standard's peak RSS
	wantKeys          = 0.9 // keys-1000000 ÷ standard, records per CPU-second
	wantMsgpack       = 1.1 // msgpack ÷ standard (JSON), records per CPU-second: clearly faster
	keysTarget        = 1000000
)

func (r *report) targets() {
	r.Targets = r.weirTargets("")
	if len(r.runsOf("standard"+beforeSuffix)) > 0 {
		r.TargetsBefore = r.weirTargets(beforeSuffix)
	}
	add := func(name string, v float64, want string, met bool) {
		r.Targets = append(r.Targets, target{Name: name, Value: v, Want: want, Met: met})
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
	if m := r.runsOf("live-messy"); len(m) > 0 && m[0].Messy != nil {
		n := len(m[0].Messy.Mismatches)
		add("live-messy: counts differing from produced (by reason and window)", float64(n), "= 0", n == 0)
		if q, ok := r.Ratios["live-messy/live-clean"]; ok {
			add("live-messy ÷ live-clean (records per CPU-second)", q.CPU, "≥ 0.9", q.CPU >= 0.9)
		}
	}
}

// weirTargets are the targets on the repeated runs of weir (suffix "" for this build,
// beforeSuffix for the -before one): the ratios to the baselines, memory, many contributors,
// msgpack against JSON.
func (r *report) weirTargets(suffix string) []target {
	var ts []target
	add := func(name string, v float64, want string, met bool) {
		ts = append(ts, target{Name: name, Value: v, Want: want, Met: met})
	}
	atLeast := func(name, a, b string, cpu bool, want float64) {
		q, ok := r.Ratios[a+"/"+b]
		if !ok {
			return
		}
		v, measure := q.Wall, "records per second"
		if cpu {
			v, measure = q.CPU, "records per CPU-second"
		}
		add(name+" ("+measure+")", v, fmt.Sprintf("≥ %.2g", want), v >= want)
	}
	std, keys, mp := "standard"+suffix, keysName(keysTarget)+suffix, "msgpack"+suffix
	atLeast("standard ÷ bare poll-and-count", std, "baseline-poll", true, wantCPUvsPoll)
	atLeast("standard ÷ parallel decode-and-count", std, "baseline-decode-parallel", true, wantCPUvsParallel)
	atLeast("standard ÷ bare poll-and-count", std, "baseline-poll", false, wantWallVsPoll)
	if runs := r.runsOf(std); len(runs) > 0 {
		var peak int64
		for _, x := range runs {
			peak = max(peak, x.PeakRSSBytes)
		}
		mib := float64(peak) / (1 << 20)
		add("standard peak RSS (MiB)", mib, fmt.Sprintf("≤ %d", wantPeakRSSMiB), peak > 0 && mib <= wantPeakRSSMiB)
	}
	atLeast(fmt.Sprintf("%s ÷ standard", keysName(keysTarget)), keys, std, true, wantKeys)
	atLeast("msgpack ÷ standard (JSON)", mp, std, true, wantMsgpack)
	return ts
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
