package main

import (
	"math"
	"slices"
	"testing"
)

func TestGenerateIsDeterministic(t *testing.T) {
	for i := range families {
		f := &families[i]
		a := generate(f, clean, 7, 0, 3000)
		if b := generate(f, clean, 7, 0, 3000); !slices.Equal(a, b) {
			t.Errorf("%s: two series of seed 7 differ", f.name)
		}
		if f.name == "setting" {
			continue // a constant is the same for every seed
		}
		if b := generate(f, clean, 8, 0, 3000); slices.Equal(a, b) {
			t.Errorf("%s: seeds 7 and 8 give the same series", f.name)
		}
	}
	if a, b := onset(3), onset(3); a != b {
		t.Errorf("onset(3) = %d, then %d", a, b)
	}
	// Onsets fall in the last week, at every hour and on weekends too.
	hours, weekend := map[int]bool{}, 0
	for seed := uint64(1); seed <= 200; seed++ {
		at := onset(seed)
		if at < learnPoints || at >= seriesPoints {
			t.Fatalf("onset(%d) = %d, want in [%d, %d)", seed, at, learnPoints, seriesPoints)
		}
		hours[at%pointsPerDay/12] = true
		if at/pointsPerDay%7 >= 5 {
			weekend++
		}
	}
	if len(hours) != 24 || weekend < 30 || weekend > 90 {
		t.Errorf("200 onsets fall in %d hours of the day and %d on weekends, want 24 and about 57", len(hours), weekend)
	}
}

// Every anomaly leaves the series before its onset as the clean one, so that the clean runs
// measure the false alarms of the same series the anomalies are scripted into.
func TestAnomalyLeavesThePastAlone(t *testing.T) {
	const at, n = 2000, 2400
	for i := range families {
		f := &families[i]
		c := generate(f, clean, 3, 0, n)
		for _, k := range kinds {
			xs := generate(f, k, 3, at, n)
			if !slices.Equal(xs[:at], c[:at]) {
				t.Errorf("%s %s: the series differs from the clean one before the onset", f.name, k)
			}
			if ok, _ := f.applies(k); ok && slices.Equal(xs[at:], c[at:]) {
				t.Errorf("%s %s: the series is the clean one after the onset too", f.name, k)
			}
		}
	}
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func sd(xs []float64) float64 {
	m, s := mean(xs), 0.0
	for _, x := range xs {
		s += (x - m) * (x - m)
	}
	return math.Sqrt(s / float64(len(xs)))
}

// Each anomaly does what anomaly.go says, measured against the clean series of the same seed.
func TestAnomaliesAsScripted(t *testing.T) {
	const at, n = 2000, 2000 + 288
	for i := range families {
		f := &families[i]
		c := generate(f, clean, 5, 0, n)
		m := f.level(load(at))
		for _, k := range kinds {
			if ok, _ := f.applies(k); !ok {
				continue
			}
			xs := generate(f, k, 5, at, n)
			switch k {
			case spike:
				if d := xs[at] - c[at]; math.Abs(d-10*f.scale(m)) > 1 {
					t.Errorf("%s spike: %.1f above the clean value, want 10 scales = %.1f", f.name, d, 10*f.scale(m))
				}
			case dropZero:
				if slices.ContainsFunc(xs[at:], func(x float64) bool { return x != 0 }) {
					t.Errorf("%s drop: not all zero after the onset", f.name)
				}
			case stuck:
				if slices.ContainsFunc(xs[at:], func(x float64) bool { return x != xs[at-1] }) {
					t.Errorf("%s stuck: not all %v after the onset", f.name, xs[at-1])
				}
			case shiftUp, shiftDown, smallShift:
				size := map[kind]float64{shiftUp: 5, shiftDown: -5, smallShift: 1.5}[k]
				if r := moved(f, xs, c, at, n, func(int) float64 { return size }); r < 0.8 || r > 1.2 {
					t.Errorf("%s %s: moved %.2f times the scripted shift over a day", f.name, k, r)
				}
			case flapping:
				// Every third point from the onset 3 scales above the clean value (whole counts
				// round), the others the clean values.
				for i := at; i < n; i++ {
					d, want := xs[i]-c[i], 0.0
					if (i-at)%3 == 0 {
						want = 3 * f.scale(f.level(load(i)))
					}
					if math.Abs(d-want) > 1 {
						t.Errorf("%s flapping: point %d is %.1f above the clean value, want %.1f", f.name, i-at, d, want)
						break
					}
				}
			case held3, held15, first3, first15:
				// As anomaly.go states them, not read from bump(): 6 hours is 72 points.
				size := map[kind]float64{held3: 3, held15: 1.5, first3: 3, first15: 1.5}[k]
				pts := map[kind]int{held3: 72, held15: 72, first3: 1, first15: 1}[k]
				if k.delay() != pts-1 {
					t.Errorf("%s: counted within %d points after the onset, want within its %d", k, k.delay(), pts)
				}
				// Over its hours; one point is within its own noise (its size is checked below as
				// the held bump's first point).
				if r := moved(f, xs, c, at, at+pts, func(int) float64 { return size }); pts > 1 && (r < 0.8 || r > 1.2) {
					t.Errorf("%s %s: moved %.2f times the scripted bump over its %d points", f.name, k, r, pts)
				}
				// Given back: the level is the clean one after the bump. Records, latency and CPU
				// draw the same number of variates at any level, so their series is the clean
				// one to the digit from the bump's end; errors and lag (Poisson by Knuth's
				// product near zero) draw another number within the bump, so only their mean
				// over the next day is the clean one's.
				switch f.name {
				case "records", "latency", "cpu":
					if !slices.Equal(xs[at+pts:], c[at+pts:]) || xs[at+pts-1] == c[at+pts-1] {
						t.Errorf("%s %s: not the clean series exactly from point %d after the onset on, or already at point %d", f.name, k, pts, pts-1)
					}
				default:
					xs := generate(f, k, 5, at, at+pts+pointsPerDay)
					c := generate(f, clean, 5, 0, at+pts+pointsPerDay)
					if d := mean(xs[at+pts:]) - mean(c[at+pts:]); math.Abs(d) > 0.5*f.scale(f.level(dayMeanLoad(at))) {
						t.Errorf("%s %s: %.2f above the clean series' mean over the day after the bump, want about 0", f.name, k, d)
					}
				}
				// The baseline's one point is the bump's own first point: same noise, same past.
				held := map[kind]kind{first3: held3, first15: held15}[k]
				if held != 0 && generate(f, held, 5, at, n)[at] != xs[at] {
					t.Errorf("%s %s: the first point alone is not %s's first point", f.name, k, held)
				}
			case variance:
				xs := generate(f, k, 5, at, at+2000)
				c := generate(f, clean, 5, 0, at+2000)
				if r := sd(diffs(xs[at:])) / sd(diffs(c[at:])); r < 2.2 || r > 3.5 {
					t.Errorf("%s variance: point-to-point deviation %.2f times the clean one's, want about 3", f.name, r)
				}
			case missedCycle:
				if f.name == "errors" || f.name == "latency" {
					// The errors' noise (±3 at the peak) is larger than their cycle (0.4 to 2);
					// the latency's follows its level, so it does not cancel below.
					continue
				}
				// The series moves from the clean one by the cycle's departure from its mean (the
				// noise of both is drawn from the same stream, so it mostly cancels).
				var off, want float64
				for i := at; i < n; i++ {
					m, flat := f.level(load(i)), f.level(dayMeanLoad(i))
					off += math.Abs(xs[i] - c[i] - (flat - m))
					want += math.Abs(flat - m)
				}
				if off > 0.3*want {
					t.Errorf("%s missed cycle: off the cycle's removal by %.3g over the day, against its size %.3g", f.name, off, want)
				}
			case drift:
				ramp := func(i int) float64 { return 5 * min(1, float64(i-at+1)/float64(pointsPerDay)) }
				if r := moved(f, xs, c, at, n, ramp); r < 0.8 || r > 1.2 {
					t.Errorf("%s drift: moved %.2f times the scripted ramp over its day", f.name, r)
				}
			}
		}
	}
}

// moved is how far xs moved from the clean series c over [at, n), as a share of the move of k(i)
// scales at each point i that the family's shift scripts.
func moved(f *family, xs, c []float64, at, n int, k func(i int) float64) float64 {
	var got, want float64
	for i := at; i < n; i++ {
		m := f.level(load(i))
		got += xs[i] - c[i]
		want += f.shifted(m, k(i)) - m
	}
	return got / want
}

// diffs are the point-to-point changes of xs: the noise without the slow level.
func diffs(xs []float64) []float64 {
	d := make([]float64, len(xs)-1)
	for i := range d {
		d[i] = xs[i+1] - xs[i]
	}
	return d
}

// The clean families are what families.go says they are.
func TestFamiliesAsStated(t *testing.T) {
	get := func(name string) []float64 {
		for i := range families {
			if families[i].name == name {
				return generate(&families[i], clean, 11, 0, seriesPoints)
			}
		}
		t.Fatalf("no family %q", name)
		return nil
	}
	week := func(xs []float64, hour int) []float64 { // the weekdays' points at an hour
		var out []float64
		for i := hour * 12; i < 5*pointsPerDay; i += pointsPerDay {
			out = append(out, xs[i:i+12]...)
		}
		return out
	}
	rec := get("records")
	if peak, trough := mean(week(rec, 16)), mean(week(rec, 4)); peak < 19000 || peak > 20500 || peak/trough < 2.5 {
		t.Errorf("records: %.0f at 16:00 and %.0f at 04:00 on weekdays, want ~20,000 and a ratio near 3", peak, trough)
	}
	if cv := sd(week(rec, 16)) / mean(week(rec, 16)); cv < 0.03 || cv > 0.08 {
		t.Errorf("records: coefficient of variation %.3f at the peak, want about 0.05", cv)
	}
	errs := week(get("errors"), 16)
	if m, v := mean(errs), sd(errs)*sd(errs); m < 1.5 || m > 2.5 || v < 3*m {
		t.Errorf("errors at the peak: mean %.2f, variance %.2f, want ~2 and over-dispersed (~10)", m, v)
	}
	lat := get("latency")
	if slices.Min(lat) <= 0 || mean(lat) <= median(slices.Clone(lat)) {
		t.Errorf("latency: min %.1f, mean %.1f, median %.1f: want positive and right-skewed", slices.Min(lat), mean(lat), median(slices.Clone(lat)))
	}
	if hi, lo := sd(week(lat, 16))/mean(week(lat, 16)), sd(week(lat, 4))/mean(week(lat, 4)); hi < 1.5*lo {
		t.Errorf("latency: relative deviation %.3f at the peak, %.3f at night: want it larger at the peak", hi, lo)
	}
	cpu := get("cpu")
	if slices.Min(cpu) < 0 || slices.Max(cpu) > 100 {
		t.Errorf("cpu: range [%.1f, %.1f] outside [0, 100]", slices.Min(cpu), slices.Max(cpu))
	}
	lag := get("lag")
	near := 0
	for _, x := range lag {
		if x <= 20 {
			near++
		}
	}
	if f := float64(near) / float64(len(lag)); f < 0.8 || slices.Max(lag) < 3000 {
		t.Errorf("lag: %.2f of points near zero, max %.0f: want most near zero and backlogs in the thousands", f, slices.Max(lag))
	}
	if s := get("setting"); slices.Min(s) != 16 || slices.Max(s) != 16 {
		t.Errorf("setting: range [%v, %v], want 16 exactly", slices.Min(s), slices.Max(s))
	}
}

// The linear shift rows (round 63) move latency's level by 5 of its stated scales (m·σ) at every
// point, up and down, where its shift rows move it by 5 log-deviations (m·e^(±5σ)), which stay as
// they were; on the families whose shift rows already move by the stated scale they do not apply.
// Latency's noise is m·e^(σ(m)·Z) with Z from the same stream at any level, so each point's Z is
// read back from the clean series and the scripted one must be its level times the same draw.
func TestLinearShiftsInTheStatedScale(t *testing.T) {
	const at, n = 2000, 2000 + 288
	for i := range families {
		f := &families[i]
		for _, k := range []kind{linUp, linDown} {
			if ok, _ := f.applies(k); ok != (f.name == "latency") {
				t.Errorf("%s %s: applies %v, want only on latency", f.name, k, ok)
			}
		}
	}
	f := fam("latency")
	c := generate(f, clean, 5, 0, n)
	// Each row's level at clean level m, as anomaly.go states it.
	levels := map[kind]func(m float64) float64{
		linUp:     func(m float64) float64 { return m + 5*m*latencySigma(m) },
		linDown:   func(m float64) float64 { return math.Max(0, m-5*m*latencySigma(m)) },
		shiftUp:   func(m float64) float64 { return m * math.Exp(5*latencySigma(m)) },
		shiftDown: func(m float64) float64 { return m * math.Exp(-5*latencySigma(m)) },
	}
	for _, k := range []kind{linUp, linDown, shiftUp, shiftDown} {
		xs := generate(f, k, 5, at, n)
		for i := at; i < n; i++ {
			m := f.level(load(i))
			z := math.Log(c[i]/m) / latencySigma(m)
			m2 := levels[k](m)
			if want := m2 * math.Exp(latencySigma(m2)*z); math.Abs(xs[i]-want) > 1e-9*m {
				t.Errorf("latency %s: point %d after the onset is %.4f, want %.4f (level %.2f from %.2f)", k, i-at, xs[i], want, m2, m)
				break
			}
		}
	}
	// In the stated scale of the clean level, at any hour: the linear rows 5 either way, the log
	// rows more up than down (round 56: 5.8–8.6 and 3.2–4.3 at the onsets).
	for i := at; i < n; i++ {
		m := f.level(load(i))
		s := f.scale(m)
		up, down := (levels[linUp](m)-m)/s, (m-levels[linDown](m))/s
		if math.Abs(up-5) > 1e-9 || math.Abs(down-5) > 1e-9 {
			t.Errorf("latency at point %d: the linear rows step %.3f up and %.3f down, want 5 scales each", i, up, down)
			break
		}
		if lu, ld := (levels[shiftUp](m)-m)/s, (m-levels[shiftDown](m))/s; lu <= 5 || ld >= 5 {
			t.Errorf("latency at point %d: the log rows step %.3f up and %.3f down, want more than 5 up and less down", i, lu, ld)
			break
		}
	}
}

// fam is the family named name.
func fam(name string) *family {
	for i := range families {
		if families[i].name == name {
			return &families[i]
		}
	}
	panic("no family " + name)
}

// TestDelaysAsTheREADMEStates: the delay column of README.md's table of anomalies, row by row
// (the held bumps' is also checked against their length in TestAnomaliesAsScripted); every kind
// is listed, so a new one must state its delay here too.
func TestDelaysAsTheREADMEStates(t *testing.T) {
	want := map[kind]int{spike: 0, shiftUp: 12, shiftDown: 12, dropZero: 12, stuck: 12, variance: 12,
		drift: 288, missedCycle: 144, smallShift: 40, flapping: 12, held3: 71, held15: 71, first3: 0,
		first15: 0, linUp: 12, linDown: 12}
	for _, k := range kinds {
		w, ok := want[k]
		if !ok {
			t.Errorf("%s: no delay stated", k)
			continue
		}
		if got := k.delay(); got != w {
			t.Errorf("%s: counted within %d points after the onset, README.md states %d", k, got, w)
		}
	}
}
