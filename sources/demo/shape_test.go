package demo

import (
	"testing"
	"time"
)

// The script puts each anomaly where shape.go says, after the detector's warm-up (100 s of a
// 10-minute day), each on its own series' signal.
func TestScriptedAnomalies(t *testing.T) {
	s := shape{day: 10 * time.Minute}
	at := func(sec float64) time.Duration { return time.Duration(sec * float64(time.Second)) }
	base := s.rateFactor(at(197)) // just before the spike
	if f := s.rateFactor(at(200)); f < 3.5*base {
		t.Errorf("rate factor at 3:20 is %.2f, %.2f before: want the spike (4×)", f, base)
	}
	for _, sec := range []float64{60, 110, 119} {
		if r := s.errorRate(at(sec), 1); r != baseErrRate {
			t.Errorf("error rate at %vs: %v, want the base %v before the shift at 2:00", sec, r, baseErrRate)
		}
	}
	if r := s.errorRate(at(125), 1); r != 2*baseErrRate {
		t.Errorf("error rate at 2:05: %v, want twice the base after the shift", r)
	}
	if r := s.errorRate(at(165), burstTenant); r != burstErrRate {
		t.Errorf("tenant %d's error rate at 2:45: %v, want the burst's %v", burstTenant, r, burstErrRate)
	}
	if r := s.errorRate(at(165), burstTenant+1); r == burstErrRate {
		t.Errorf("another tenant bursts at 2:45")
	}
	// Nothing scripted during the warm-up: the day's shape only.
	for sec := 0.0; sec < 110; sec++ {
		if s.scripted(at(sec), spikeFirst, spikeEvery, spikeLen) || s.scripted(at(sec), burstFirst, burstEvery, burstLen) {
			t.Fatalf("a scripted event at %vs, inside the warm-up", sec)
		}
	}
}
