package main

import (
	"fmt"
	"math"
	"strings"
)

// A small SVG line chart: enough for the two plots the report needs, without a plotting
// dependency.

type line struct {
	name  string
	color string
	pts   [][2]float64
}

type chart struct {
	title, xlabel, ylabel string
	x0, x1, y0, y1        float64
	xticks, yticks        []float64
	xfmt, yfmt            func(float64) string
	xmap                  func(float64) float64 // nil: linear
	lines                 []line
	bands                 [][2]float64 // shaded x ranges (the stall)
}

const (
	chartW, chartH       = 760, 300
	padL, padR, padT, pB = 70, 170, 30, 45
)

// render draws c at vertical offset top into b.
func (c *chart) render(b *strings.Builder, top float64) {
	xm := c.xmap
	if xm == nil {
		xm = func(v float64) float64 { return v }
	}
	pw, ph := float64(chartW-padL-padR), float64(chartH-padT-pB)
	px := func(v float64) float64 { return padL + (xm(v)-xm(c.x0))/(xm(c.x1)-xm(c.x0))*pw }
	py := func(v float64) float64 { return top + padT + ph - (v-c.y0)/(c.y1-c.y0)*ph }
	fmt.Fprintf(b, `<text x="%d" y="%.0f" font-size="14" font-weight="bold">%s</text>`+"\n", padL, top+18, c.title)
	for _, band := range c.bands {
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#fde2e2"/>`+"\n",
			px(band[0]), top+padT, px(band[1])-px(band[0]), ph)
	}
	fmt.Fprintf(b, `<rect x="%d" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#888"/>`+"\n", padL, top+padT, pw, ph)
	for _, t := range c.xticks {
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/><text x="%.1f" y="%.1f" font-size="11" text-anchor="middle">%s</text>`+"\n",
			px(t), top+padT, px(t), top+padT+ph, px(t), top+padT+ph+15, c.xfmt(t))
	}
	for _, t := range c.yticks {
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/><text x="%d" y="%.1f" font-size="11" text-anchor="end">%s</text>`+"\n",
			padL, py(t), padL+pw, py(t), padL-5, py(t)+4, c.yfmt(t))
	}
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" font-size="12" text-anchor="middle">%s</text>`+"\n", padL+pw/2, top+chartH-8, c.xlabel)
	fmt.Fprintf(b, `<text x="15" y="%.0f" font-size="12" text-anchor="middle" transform="rotate(-90 15 %.0f)">%s</text>`+"\n",
		top+padT+ph/2, top+padT+ph/2, c.ylabel)
	for i, l := range c.lines {
		var pts []string
		for _, p := range l.pts {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(p[0]), py(math.Min(math.Max(p[1], c.y0), c.y1))))
		}
		fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="1.8" points="%s"/>`+"\n", l.color, strings.Join(pts, " "))
		ly := top + padT + 10 + float64(i)*18
		fmt.Fprintf(b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="%s" stroke-width="3"/><text x="%.0f" y="%.0f" font-size="12">%s</text>`+"\n",
			padL+pw+10, ly, padL+pw+30, ly, l.color, padL+pw+35, ly+4, l.name)
	}
}

func svgDoc(charts []*chart) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif">`+"\n", chartW, chartH*len(charts))
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	for i, c := range charts {
		c.render(&b, float64(i*chartH))
	}
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

// color is the i-th series colour (matplotlib's default cycle).
func color(i int) string {
	return [...]string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"}[i%6]
}

// rateSeries turns a run's cumulative series into records/s over 0.3 s steps.
func rateSeries(s []sample) [][2]float64 {
	var out [][2]float64
	j := 0
	for i := range s {
		if s[i].T-s[j].T < 0.3 && i != len(s)-1 {
			continue
		}
		if dt := s[i].T - s[j].T; dt > 0 {
			out = append(out, [2]float64{(s[i].T + s[j].T) / 2, float64(s[i].Records-s[j].Records) / dt})
		}
		j = i
	}
	return out
}

// rateSVG plots records/s over time: the drain runs of the last repetition (baselines, standard,
// msgpack) and, below, the stall run with the stall shaded.
func (r *report) rateSVG() []byte {
	last := map[string]result{}
	for _, x := range r.Runs {
		last[x.Name] = x
	}
	drain := &chart{title: "Drain rate, last repetition (records/s; each run from its first record)", xlabel: "seconds", ylabel: "records/s"}
	for i, n := range []string{"baseline-poll", "baseline-decode", "baseline-decode-parallel", "standard", "msgpack"} {
		if x, ok := last[n]; ok {
			drain.lines = append(drain.lines, line{name: n, color: color(i), pts: rateSeries(x.Series)})
		}
	}
	charts := []*chart{drain}
	if x, ok := last["stall"]; ok && x.Stall != nil {
		band := [][2]float64{{x.Stall.BeganAt, x.Stall.EndedAt}}
		st := &chart{title: fmt.Sprintf("stall: the file sink blocked %.0f s (shaded)", x.Stall.StallSeconds),
			xlabel: "seconds", ylabel: "records/s", bands: band,
			lines: []line{{name: "stall", color: color(3), pts: rateSeries(x.Series)}}}
		var rss, inflight [][2]float64
		for _, p := range x.Series {
			rss = append(rss, [2]float64{p.T, float64(p.RSS) / (1 << 20)})
			inflight = append(inflight, [2]float64{p.T, float64(p.InFlight) / (1 << 20)})
		}
		mem := &chart{title: "stall: worker memory (MiB)", xlabel: "seconds", ylabel: "MiB", bands: band,
			lines: []line{{name: "RSS", color: color(4), pts: rss}, {name: "in-flight bytes", color: color(5), pts: inflight}}}
		charts = append(charts, st, mem)
	}
	for _, c := range charts {
		c.fit()
	}
	return svgDoc(charts)
}

// fit sets the axes to the data, starting at zero.
func (c *chart) fit() {
	c.x1, c.y1 = 1, 1
	for _, l := range c.lines {
		for _, p := range l.pts {
			c.x1, c.y1 = math.Max(c.x1, p[0]), math.Max(c.y1, p[1])
		}
	}
	c.x1, c.y1 = niceCeil(c.x1), niceCeil(c.y1*1.05)
	c.xticks, c.yticks = ticks(c.x1), ticks(c.y1)
	c.xfmt = func(v float64) string { return fmt.Sprintf("%g", v) }
	c.yfmt = si
}

func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func ticks(hi float64) []float64 {
	var out []float64
	for i := range 6 {
		out = append(out, hi*float64(i)/5)
	}
	return out
}

// latencySVG plots the append → state latency by percentile, on the usual HDR axis where each
// step right is ten times rarer (90%, 99%, 99.9%, …).
func latencySVG(l *latencyResult) []byte {
	nines := func(p float64) float64 { return -math.Log10(1 - math.Min(p, 99.999)/100) }
	c := &chart{title: "Latency, broker append → window state (open loop, corrected for coordinated omission)",
		xlabel: "percentile", ylabel: "ms", x0: 0, x1: 99.999, xmap: nines,
		xticks: []float64{0, 90, 99, 99.9, 99.99}, xfmt: func(v float64) string { return fmt.Sprintf("%g%%", v) }}
	var pts [][2]float64
	for _, d := range l.Distribution {
		if d[0] < 100 {
			pts = append(pts, d)
			c.y1 = math.Max(c.y1, d[1])
		}
	}
	c.y1 = niceCeil(math.Max(c.y1*1.05, 1))
	c.yticks, c.yfmt = ticks(c.y1), func(v float64) string { return fmt.Sprintf("%g", v) }
	c.lines = []line{{name: "append → state", color: color(0), pts: pts}}
	charts := []*chart{c}
	if len(l.WorstPerSecond) > 0 {
		var worst [][2]float64
		for i, ms := range l.WorstPerSecond {
			worst = append(worst, [2]float64{float64(i) + 0.5, ms})
		}
		w := &chart{title: "Worst sampled append → state latency in each second", xlabel: "seconds", ylabel: "ms",
			lines: []line{{name: "weir", color: color(3), pts: worst}}}
		if bare := l.Bare; bare != nil && bare.WorstFromUnix != 0 && l.WorstFromUnix != 0 {
			// On weir's time axis: the bare consumer's first sample came off seconds later.
			off := bare.WorstFromUnix - l.WorstFromUnix
			var pts [][2]float64
			for i, ms := range bare.WorstPerSecond {
				if x := off + float64(i) + 0.5; x >= 0 {
					pts = append(pts, [2]float64{x, ms})
				}
			}
			w.lines = append(w.lines, line{name: "bare consumer", color: color(1), pts: pts})
		}
		w.fit()
		w.yfmt = func(v float64) string { return fmt.Sprintf("%g", v) }
		charts = append(charts, w)
	}
	return svgDoc(charts)
}
