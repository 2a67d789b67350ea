package main

import (
	"errors"
	"fmt"
	"math"

	"github.com/weirstream/weir/pipeline/anomaly"
)

// detector is what the bench runs over each series: weir's detector, the ART detector of
// round 4b (artstream.go), or both combined.
type detector struct {
	cfg    anomaly.Config
	family string // "weir", "art" or "max"
	art    artConfig
}

func (d detector) validate() error {
	var errs []error
	switch d.family {
	case "weir", "art", "max":
	default:
		errs = append(errs, fmt.Errorf("-family: want \"weir\", \"art\" or \"max\", got %q", d.family))
	}
	if d.art.step < 1 {
		errs = append(errs, fmt.Errorf("-art-step: %d, want at least 1", d.art.step))
	}
	if w := d.art.window; w < 2 || w&(w-1) != 0 {
		errs = append(errs, fmt.Errorf("-art-window: %d, want a power of two from 2", w))
	}
	if d.art.categories < 1 {
		errs = append(errs, fmt.Errorf("-art-categories: %d, want at least 1", d.art.categories))
	}
	return errors.Join(errs...)
}

// weirScoreHalf is anomaly's scoreHalf: a calibrated surprise s maps to s/(s+10), so that the
// ART's calibrated reports and weir's share one scale.
const weirScoreHalf = 10

// detect runs a fresh detector over one series and returns the anomaly_score column.
//
// With events, only weir's reports (Result.Peak) are written, 0 elsewhere: weir reports one
// event per excursion, and NAB likewise counts only the first detection in a window and
// charges every later one outside it as a false positive. The ART detector writes only its
// reports whatever events says.
func detect(det detector, series []point, events bool) []float64 {
	scores := make([]float64, len(series))
	var d *anomaly.Detector
	if det.family != "art" {
		d = anomaly.New(det.cfg)
	}
	var a *artStream
	var dedup *slidingMax
	if det.family != "weir" {
		a = newARTStream(det.art)
		if det.art.peaks {
			dedup = newSlidingMax(det.cfg.Quiet)
		}
	}
	// The ART's rate of reports per point, for the combination: an EWMA over Memory points,
	// starting at one report per probation.
	var rate float64
	if a != nil {
		rate = 1 / float64(a.probationPoints())
	}
	alpha := 1 / float64(det.cfg.Memory)
	for i, p := range series {
		var w float64
		if d != nil {
			r := d.Observe(p.t, p.v)
			if !events || r.Peak {
				w = r.Score
			}
		}
		if a == nil || math.IsNaN(p.v) || math.IsInf(p.v, 0) {
			scores[i] = w
			continue
		}
		c := a.observe(p.v)
		if dedup != nil && !dedup.observe(c) {
			c = 0
		}
		if det.family == "art" {
			scores[i] = c
			continue
		}
		reported := 0.0
		if c > 0 {
			s := -math.Log(rate)
			c = s / (s + weirScoreHalf)
			reported = 1
		}
		rate += alpha * (reported - rate)
		scores[i] = max(w, c)
	}
	return scores
}

// slidingMax is weir's report rule in its plain form: a score is reported when it exceeds
// every score of the last n points.
type slidingMax struct {
	ring []float64
	head int
}

func newSlidingMax(n int) *slidingMax { return &slidingMax{ring: make([]float64, n)} }

func (m *slidingMax) observe(s float64) bool {
	fresh := s > 0
	for _, r := range m.ring {
		if r >= s {
			fresh = false
			break
		}
	}
	m.ring[m.head] = s
	m.head = (m.head + 1) % len(m.ring)
	return fresh
}
