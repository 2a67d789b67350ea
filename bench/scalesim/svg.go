package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// The plot is written by hand: three stacked panels (load, lag, tasks) over one time axis.
const (
	plotW, panelH, marginL, marginR, marginT, gap = 900, 170, 80, 170, 30, 40
)

type series struct {
	label, color string
	dashed       bool
	value        func(Sample) float64
}

type panel struct {
	title  string
	series []series
}

func writeSVG(w io.Writer, r Result, lagTarget time.Duration) error {
	panels := []panel{
		{"load (records/s)", []series{
			{"arrival rate", "#1f77b4", false, func(s Sample) float64 { return s.Arrival }},
			{"processed", "#2ca02c", true, func(s Sample) float64 { return s.Capacity }},
		}},
		{"lag (records)", []series{
			{"lag", "#d62728", false, func(s Sample) float64 { return s.Lag }},
			{fmt.Sprintf("target (%v of input)", lagTarget), "#7f7f7f", true, func(s Sample) float64 { return s.Arrival * lagTarget.Seconds() }},
		}},
		{"tasks", []series{
			{"ECS desired count", "#000000", false, func(s Sample) float64 { return float64(s.Tasks) }},
			{"running", "#2ca02c", false, func(s Sample) float64 { return float64(s.Running) }},
			{"worker DesiredTasks", "#ff7f0e", true, func(s Sample) float64 { return float64(s.Desired) }},
		}},
	}
	height := marginT + len(panels)*(panelH+gap) + 10
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", plotW, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="14">weir scaling simulation — profile %s, stream %s, signal %s</text>`+"\n", marginL, r.Profile, r.Stream, r.Mode)

	n := len(r.Samples)
	if n < 2 {
		return fmt.Errorf("plot %s: %d samples", r.Profile, n)
	}
	end := r.Samples[n-1].T
	innerW := float64(plotW - marginL - marginR)
	x := func(t time.Duration) float64 { return float64(marginL) + innerW*t.Seconds()/end.Seconds() }
	for i, p := range panels {
		top := float64(marginT + i*(panelH+gap))
		ymax := 0.0
		for _, s := range p.series {
			for _, smp := range r.Samples {
				ymax = math.Max(ymax, s.value(smp))
			}
		}
		ymax = niceCeil(ymax)
		y := func(v float64) float64 { return top + panelH - panelH*v/ymax }
		fmt.Fprintf(&b, `<text x="%d" y="%.0f" font-weight="bold">%s</text>`+"\n", marginL, top-6, p.title)
		fmt.Fprintf(&b, `<rect x="%d" y="%.0f" width="%.0f" height="%d" fill="none" stroke="#999"/>`+"\n", marginL, top, innerW, panelH)
		for k := 0; k <= 4; k++ {
			v := ymax * float64(k) / 4
			fmt.Fprintf(&b, `<line x1="%d" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#eee"/>`, marginL, float64(marginL)+innerW, y(v), y(v))
			fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", marginL-6, y(v)+4, humanize(v))
		}
		for j, s := range p.series {
			var pts strings.Builder
			for _, smp := range r.Samples {
				fmt.Fprintf(&pts, "%.1f,%.1f ", x(smp.T), y(s.value(smp)))
			}
			dash := ""
			if s.dashed {
				dash = ` stroke-dasharray="5,3"`
			}
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5"%s points="%s"/>`+"\n", s.color, dash, strings.TrimSpace(pts.String()))
			ly := top + 14 + float64(j)*16
			fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.0f" y2="%.0f" stroke="%s" stroke-width="2"%s/>`, float64(marginL)+innerW+10, float64(marginL)+innerW+30, ly-4, ly-4, s.color, dash)
			fmt.Fprintf(&b, `<text x="%.0f" y="%.0f">%s</text>`+"\n", float64(marginL)+innerW+34, ly, s.label)
		}
		// Time axis under every panel.
		unit, div := "min", time.Minute
		if end > 6*time.Hour {
			unit, div = "h", time.Hour
		}
		ticks := 8
		for k := 0; k <= ticks; k++ {
			t := end * time.Duration(k) / time.Duration(ticks)
			fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="middle">%.0f</text>`, x(t), top+panelH+13, t.Seconds()/div.Seconds())
		}
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f">%s</text>`+"\n", float64(marginL)+innerW+10, top+panelH+13, unit)
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// niceCeil rounds v up to 1, 2 or 5 × a power of ten so the axis labels read well.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func humanize(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.3gk", v/1e3)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}
