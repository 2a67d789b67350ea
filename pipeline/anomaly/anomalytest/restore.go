// Package anomalytest checks, for tests of code that feeds detectors (bench/nab's data,
// bench/synth's families, pipeline/anomaly's own extremes), that every state a detector reaches
// on a series is one its snapshot decoder accepts and restores exactly. A snapshot the decoder
// refuses makes the analyzer drop the series' history at a restart, silently, so each bound the
// decoder checks must hold for every state the detector itself produces.
package anomalytest

import (
	"fmt"
	"math"
	"time"

	"github.com/weirstream/weir/pipeline/anomaly"
)

// Point is one observation of a series.
type Point struct {
	T time.Time
	V float64
}

// Restores runs two detectors of cfg over the points: one never restored, and one replaced by a
// restore of its own snapshot before each point i for which at(i) is true (at(0) snapshots a new
// detector). It returns an error at the first snapshot refused, or the first result or final
// snapshot of the restored one that is not bit-identical to the other's. count observes with
// ObserveCount.
func Restores(cfg anomaly.Config, pts []Point, count bool, at func(i int) bool) error {
	ref, cur := anomaly.New(cfg), anomaly.New(cfg)
	for i, p := range pts {
		if at(i) {
			b, err := cur.MarshalMsgpack()
			if err != nil {
				return fmt.Errorf("point %d: snapshot: %w", i, err)
			}
			next := anomaly.New(cfg)
			if err := next.UnmarshalMsgpack(b); err != nil {
				return fmt.Errorf("point %d (value %g): snapshot refused: %w", i, p.V, err)
			}
			cur = next
		}
		var want, got anomaly.Result
		if count {
			want, got = ref.ObserveCount(p.T, p.V), cur.ObserveCount(p.T, p.V)
		} else {
			want, got = ref.Observe(p.T, p.V), cur.Observe(p.T, p.V)
		}
		if !same(got, want) {
			return fmt.Errorf("point %d (value %g) after restores: %+v, want %+v", i, p.V, got, want)
		}
	}
	a, err := ref.MarshalMsgpack()
	if err != nil {
		return err
	}
	b, err := cur.MarshalMsgpack()
	if err != nil {
		return err
	}
	if string(a) != string(b) {
		return fmt.Errorf("final snapshots differ after %d points", len(pts))
	}
	return nil
}

// Often is the usual choice of restore points: each of the first 25 (a new detector, the
// forecaster's first points, the end of minEvidence) and every 250th after.
func Often(i int) bool { return i < 25 || i%250 == 0 }

// same compares results bit for bit (== would take -0 for 0 and never match a NaN).
func same(a, b anomaly.Result) bool {
	bits := func(r anomaly.Result) [4]uint64 {
		return [4]uint64{math.Float64bits(r.Expected), math.Float64bits(r.Lower),
			math.Float64bits(r.Upper), math.Float64bits(r.Score)}
	}
	return bits(a) == bits(b) && a.Peak == b.Peak && a.Alarm == b.Alarm && a.Warm == b.Warm &&
		a.Reason == b.Reason
}
