package main

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline/anomaly"
)

// testSeries is a short NAB-like series: 5-minute points on a daily wave, one value that does
// not parse.
func testSeries(n int) []point {
	t0 := time.Date(2014, 2, 14, 0, 0, 0, 0, time.UTC)
	s := make([]point, n)
	for i := range s {
		t := t0.Add(time.Duration(i) * 5 * time.Minute)
		s[i] = point{raw: t.Format(nabTime), t: t, v: 50 + 10*math.Sin(float64(i)/20)}
	}
	s[n/2].v = math.NaN()
	return s
}

// Each perturbation changes only what it says: values (scale, jitter) or where the detector
// starts (start), never a timestamp, never the series it was given; jitter is bounded by ε,
// repeatable for a seed and a key, and different across seeds and keys.
func TestPerturbationsChangeOnlyWhatTheySay(t *testing.T) {
	orig := testSeries(300)
	series := append([]point(nil), orig...)
	check := func(name string, in []point) {
		t.Helper()
		if len(in) != len(orig) {
			t.Fatalf("%s: %d points, want %d", name, len(in), len(orig))
		}
		for i := range in {
			if in[i].t != orig[i].t || in[i].raw != orig[i].raw {
				t.Fatalf("%s: point %d's timestamp moved", name, i)
			}
			if math.IsNaN(orig[i].v) != math.IsNaN(in[i].v) {
				t.Fatalf("%s: point %d: NaN %v became %v", name, i, orig[i].v, in[i].v)
			}
		}
		for i := range series {
			if series[i] != orig[i] && !math.IsNaN(orig[i].v) {
				t.Fatalf("%s: the input series was modified at %d", name, i)
			}
		}
	}

	in, skip := perturbation{}.apply("a/x.csv", series)
	check("none", in)
	if skip != 0 || &in[0] != &series[0] {
		t.Errorf("no perturbation: skip %d, or a copy; want the series as is", skip)
	}

	in, skip = perturbation{kind: "scale", scale: 1e3}.apply("a/x.csv", series)
	check("scale", in)
	for i := range in {
		if !math.IsNaN(orig[i].v) && in[i].v != orig[i].v*1e3 {
			t.Fatalf("scale: point %d is %v, want %v", i, in[i].v, orig[i].v*1e3)
		}
	}
	if skip != 0 {
		t.Errorf("scale skips %d points", skip)
	}

	in, skip = perturbation{kind: "start", start: 5}.apply("a/x.csv", series)
	check("start", in)
	if skip != 5 {
		t.Errorf("start 5 skips %d points", skip)
	}
	if _, skip = (perturbation{kind: "start", start: 500}).apply("a/x.csv", series); skip != len(series) {
		t.Errorf("start beyond the series skips %d points, want %d", skip, len(series))
	}

	jit := func(seed uint64, key string) []point {
		in, skip := perturbation{kind: "jitter", eps: 1e-6, seed: seed}.apply(key, series)
		check("jitter", in)
		if skip != 0 {
			t.Errorf("jitter skips %d points", skip)
		}
		return in
	}
	a, again, other, otherKey := jit(1, "a/x.csv"), jit(1, "a/x.csv"), jit(2, "a/x.csv"), jit(1, "a/y.csv")
	moved := 0
	for i := range a {
		if math.IsNaN(orig[i].v) {
			continue
		}
		if rel := math.Abs(a[i].v/orig[i].v - 1); rel > 1e-6*(1+1e-12) {
			t.Fatalf("jitter: point %d moved by %g of its value, want at most 1e-6", i, rel)
		}
		if a[i].v != again[i].v {
			t.Fatalf("jitter: point %d differs between two runs of one seed", i)
		}
		if a[i].v != orig[i].v {
			moved++
		}
		if a[i].v == other[i].v || a[i].v == otherKey[i].v {
			t.Fatalf("jitter: point %d is the same under another seed or key", i)
		}
	}
	if moved < len(a)-2 {
		t.Errorf("jitter moved %d of %d values", moved, len(a))
	}
}

// A perturbed run writes every row of the series as read, with score 0 on the rows a start
// skips and, after them, the scores of a detector started there.
func TestWriteAllUnderAPerturbation(t *testing.T) {
	root, out := t.TempDir(), t.TempDir()
	series := testSeries(600)
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	for _, p := range series {
		v := strconv.FormatFloat(p.v, 'g', -1, 64)
		if math.IsNaN(p.v) {
			v = "n/a"
		}
		b.WriteString(p.raw + "," + v + "\n")
	}
	in := filepath.Join(root, "realSomething", "s.csv")
	if err := os.MkdirAll(filepath.Dir(in), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	read, err := readSeries(in)
	if err != nil {
		t.Fatal(err)
	}
	def := detSpec{cfg: anomaly.DefaultConfig(), events: true}

	const k = 8
	spec := def
	spec.perturb = perturbation{kind: "start", start: k}
	if _, err := writeAll(spec, root, out, []string{"realSomething/s.csv"}); err != nil {
		t.Fatal(err)
	}
	got, err := readSeries(filepath.Join(out, "realSomething", "weir_s.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows := readScores(t, filepath.Join(out, "realSomething", "weir_s.csv"))
	want := detect(def.cfg, read[k:], true)
	if len(rows) != len(read) || len(got) != len(read) {
		t.Fatalf("%d rows, want %d", len(rows), len(read))
	}
	for i := range rows {
		if got[i].raw != read[i].raw || (got[i].v != read[i].v && !math.IsNaN(read[i].v)) {
			t.Fatalf("row %d: %s,%v written, want the series as read %s,%v", i, got[i].raw, got[i].v, read[i].raw, read[i].v)
		}
		w := 0.0
		if i >= k {
			w = want[i-k]
		}
		if rows[i] != w {
			t.Fatalf("row %d: score %v, want %v", i, rows[i], w)
		}
	}

	// Scaled: the values written are the series' own, not the detector's input.
	spec.perturb = perturbation{kind: "scale", scale: 1e3}
	if _, err := writeAll(spec, root, out, []string{"realSomething/s.csv"}); err != nil {
		t.Fatal(err)
	}
	if got, err = readSeries(filepath.Join(out, "realSomething", "weir_s.csv")); err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if got[i].v != read[i].v && !math.IsNaN(read[i].v) {
			t.Fatalf("scale: row %d's value written %v, want %v", i, got[i].v, read[i].v)
		}
	}
}

// readScores reads the anomaly_score column of a results file.
func readScores(t *testing.T, path string) []float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")[1:]
	out := make([]float64, len(lines))
	for i, l := range lines {
		f := strings.Split(l, ",")
		if out[i], err = strconv.ParseFloat(f[2], 64); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// The floor is measured on D only: -all and -test are refused before anything is read.
func TestNoiseRefusesT(t *testing.T) {
	for _, args := range [][]string{
		{"-data", t.TempDir(), "-test"},
		{"-data", t.TempDir(), "-all"},
	} {
		var b strings.Builder
		if err := runNoise(args, &b); !errors.Is(err, errNoiseOnT) {
			t.Errorf("runNoise(%q) = %v, want %v", args, err, errNoiseOnT)
		}
	}
	if _, err := selectPerturbations("scale,offset"); err == nil {
		t.Error("-only with an unknown kind accepted")
	}
	ps, err := selectPerturbations("start")
	if err != nil || len(ps) != 5 {
		t.Errorf("-only start: %d perturbations, %v; want 5", len(ps), err)
	}
}

// The round's perturbations are the thirteen its plan fixed.
func TestNullPerturbationsAreThePlans(t *testing.T) {
	var names []string
	for _, p := range nullPerturbations() {
		names = append(names, p.String())
	}
	want := "scale ×0.001, scale ×10, scale ×1000, start k=1, start k=2, start k=3, start k=5, start k=8, " +
		"jitter seed 1, jitter seed 2, jitter seed 3, jitter seed 4, jitter seed 5"
	if got := strings.Join(names, ", "); got != want {
		t.Errorf("perturbations\n %s\nwant\n %s", got, want)
	}
}

func TestSpread(t *testing.T) {
	lo, hi, sd := spread([]float64{72.04, 71.94, 72.24, 72.04})
	if lo != 71.94 || hi != 72.24 || math.Abs(sd-math.Sqrt(0.0475/3)) > 1e-9 {
		t.Errorf("spread = %v, %v, %v", lo, hi, sd)
	}
	if _, _, sd := spread([]float64{3}); sd != 0 {
		t.Errorf("one value's sd %v, want 0", sd)
	}
}

// The floor is the spread over the start and jitter runs only: scale's runs and the unperturbed
// run are not in it, and each fold's spread is printed beside the pooled one.
func TestPrintNoiseFloorExcludesScale(t *testing.T) {
	run := func(x, y float64) locoRun {
		fold := func(s, raw float64) scoreRun {
			pr := profileResult{Score: score(s), Raw: raw, Null: -10, Perfect: 10}
			return scoreRun{Profiles: map[string]profileResult{profiles[0]: pr, profiles[1]: pr, profiles[2]: pr}}
		}
		// pooled = 100 (x + y + 20) / 40
		return locoRun{Set: "D", Folds: map[string]scoreRun{"realX": fold(50+5*x, x), "realY": fold(50+5*y, y)}}
	}
	runs := []noiseRun{
		{"unperturbed", run(0, 0)},
		{"scale ×10", run(8, 8)}, // pooled 90: would widen the floor if counted
		{"start k=1", run(-1, 0)},
		{"jitter seed 1", run(1, 1)},
	}
	var b strings.Builder
	printNoise(&b, runs, []string{"realX", "realY"})
	out := b.String()
	i := strings.Index(out, "floor (start+jitter) (n=2)")
	if i < 0 {
		t.Fatalf("no floor group of 2 runs:\n%s", out)
	}
	floor := strings.Join(strings.Fields(out[i:]), " ")
	for _, want := range []string{
		"pooled min 47.500 max 55.000 range 7.500 sd 5.303",
		"X min 45.000 max 55.000 range 10.000 sd 7.071",
		"Y min 50.000 max 55.000 range 5.000 sd 3.536",
	} {
		if !strings.Contains(floor, want) {
			t.Errorf("floor group lacks %q:\n%s", want, floor)
		}
	}
	if !strings.Contains(strings.Join(strings.Fields(out), " "), "scale ×10 +40.00 +40.00 +40.00 +40.00 +40.00") {
		t.Errorf("scale's difference from the unperturbed run not printed:\n%s", out)
	}
}
