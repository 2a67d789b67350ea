package anomaly

import (
	"encoding/binary"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline"
)

// FuzzAnalyzer drives an Analyzer with windows decoded from the fuzz input: windows that repeat,
// go back or jump; points of watched and unwatched names, count and not, with any value and a
// stream name of any bytes; more series than max_series (3), which expire after 5 windows idle.
// It checks that no window panics, that the table never holds more than max_series, that every
// published score is in [0, 1] and every band finite, and that an analyzer restored from the
// last durable snapshot publishes the same next window, bit for bit, as the one that ran on.
func FuzzAnalyzer(f *testing.F) {
	// An ordinary minute after minute: three streams' records, as counts.
	var ordinary []byte
	for i := 0; i < 40; i++ {
		ordinary = append(ordinary, 0, 3, 0, 0, 0, 0, 1, byte(100+i%5))
	}
	f.Add(ordinary)
	// Windows that repeat, go back and jump by days; streams named by any bytes; special values.
	var hostile []byte
	for i := 0; i < 40; i++ {
		hostile = append(hostile, byte(i%4)|byte(i%7)<<2, 3, 0x80|byte(i), 0xff, byte(i), 0x80, 2|byte(i%2), byte(i))
	}
	f.Add(hostile)
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg := DefaultConfig()
		cfg.WarmUp, cfg.MaxSeries, cfg.IdleTimeout, cfg.TopContributors = 2, 3, 5*time.Minute, 0
		store := &memStore{data: map[string][]byte{}}
		h := newHarness(t, cfg, store)
		outs := decodeWindows(b)
		if len(outs) < 2 {
			return
		}
		last := len(outs) - 1
		for _, out := range outs[:last] {
			checkPublished(t, h, out)
		}
		// The last window, to the analyzer that ran on and to one restored from its snapshot.
		r := newHarness(t, cfg, store)
		if r.a.t.len() != h.a.t.len() {
			t.Fatalf("restored %d series, had %d", r.a.t.len(), h.a.t.len())
		}
		got, want := cloneOutput(outs[last]), cloneOutput(outs[last])
		checkPublished(t, r, got)
		checkPublished(t, h, want)
		if !samePoints(got.Points, want.Points) {
			t.Fatalf("restored analyzer published\n%+v\nthe other\n%+v", got.Points, want.Points)
		}
	})
}

// checkPublished runs out through h and checks what it published.
func checkPublished(t *testing.T, h *harness, out *pipeline.Output) {
	t.Helper()
	ps, _ := h.analyze(out)
	if n := h.a.t.len(); n > h.a.cfg.MaxSeries {
		t.Fatalf("%d series, max_series %d", n, h.a.cfg.MaxSeries)
	}
	for _, p := range ps {
		switch p.Name {
		case MetricScore:
			if !(p.Value >= 0 && p.Value <= 1) {
				t.Fatalf("published score %v", p.Value)
			}
		case MetricExpected, MetricLower, MetricUpper:
			if !finite(p.Value) {
				t.Fatalf("published %s %v", p.Name, p.Value)
			}
		}
	}
}

func cloneOutput(out *pipeline.Output) *pipeline.Output {
	c := *out
	c.Points = append([]pipeline.Point(nil), out.Points...)
	return &c
}

// samePoints compares points with their values bit for bit.
func samePoints(a, b []pipeline.Point) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if math.Float64bits(x.Value) != math.Float64bits(y.Value) {
			return false
		}
		x.Value, y.Value = 0, 0
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

// fuzzNames are the points' names: watched (Records and SampleCount as counts when their unit
// is Count), a lag metric, unwatched, and one of the analyzer's own outputs (never watched).
var fuzzNames = []string{"Records", "Bytes", "SampleCount", "ConsumerLag", "Unwatched", MetricScore}

// decodeWindows reads windows of 8 bytes each: how the window's start moves, how many points,
// then each point's stream (a byte, or the next bytes as a name), name and unit, and value.
func decodeWindows(b []byte) []*pipeline.Output {
	var outs []*pipeline.Output
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for len(b) >= 8 && len(outs) < 200 {
		var w [8]byte // a copy: the fuzz input is not to be written
		copy(w[:], b)
		b = b[8:]
		switch w[0] & 3 {
		case 0:
			start = start.Add(time.Minute)
		case 1: // the same window again
		case 2:
			start = start.Add(-time.Duration(w[0]>>2) * time.Minute)
		case 3:
			start = start.Add(time.Duration(w[0]>>2) * 24 * time.Hour)
		}
		out := &pipeline.Output{Window: pipeline.Window{Start: start, End: start.Add(time.Minute)}, Owner: "fuzz"}
		for i := 0; i < int(w[1]%4); i++ {
			stream := string(rune('a' + w[2]%6))
			if w[2]&0x80 != 0 {
				stream = string(w[3:6]) // any bytes: invalid UTF-8 too
			}
			unit := pipeline.UnitNone
			if w[6]&1 != 0 {
				unit = pipeline.UnitCount
			}
			var v float64
			switch w[6] >> 1 & 3 {
			case 0:
				v = float64(w[7]) + float64(i)
			case 1:
				v = hostileValues[int(w[7])%len(hostileValues)]
			case 2:
				v = math.Float64frombits(binary.LittleEndian.Uint64(w[:]))
			case 3:
				v = -float64(w[7])
			}
			out.Points = append(out.Points, pipeline.Point{
				Name:       fuzzNames[int(w[4]+byte(i))%len(fuzzNames)],
				Dimensions: []pipeline.Dimension{{Name: "Stream", Value: stream}},
				Time:       start, Unit: unit, Value: v,
			})
			w[2] += 1 // the next point another stream
		}
		outs = append(outs, out)
	}
	return outs
}
