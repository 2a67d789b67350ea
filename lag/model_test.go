package lag

import (
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// row is one scripted observation: end, committed and processed positions.
type row struct{ end, committed, processed int64 }

// hist builds a history of rows sampled every step from t0, with Start 0 and no Kinesis lag.
func hist(step time.Duration, rows ...row) History {
	h := make(History, len(rows))
	for i, r := range rows {
		h[i] = Sample{Time: t0.Add(time.Duration(i) * step), End: r.end, Committed: r.committed,
			Start: 0, Processed: r.processed, MillisBehind: Unknown}
	}
	return h
}

func TestOffsetLag(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Sample
		want int64
	}{
		{"committed", Sample{End: 1000, Committed: 400, Start: 0}, 600},
		{"caught up", Sample{End: 1000, Committed: 1000}, 0},
		{"commit newer than end read earlier is clamped", Sample{End: 1000, Committed: 1003}, 0},
		{"no commit: from the start offset", Sample{End: 1000, Committed: Unknown, Start: 250}, 750},
		{"no commit, start past end (retention)", Sample{End: 1000, Committed: Unknown, Start: 1000}, 0},
		{"kinesis: no end offset", Sample{End: Unknown, Committed: 5}, Unknown},
	} {
		if got := OffsetLag(tc.s); got != tc.want {
			t.Errorf("%s: OffsetLag = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestRateAndDrain(t *testing.T) {
	h := hist(10*time.Second, row{1000, 0, 100}, row{1500, 0, 350}, row{2000, 500, 600})
	if got := Rate(h); got != 25 { // (600-100)/20s
		t.Fatalf("Rate = %v, want 25", got)
	}
	if got := ArrivalRate(h); got != 50 { // (2000-1000)/20s
		t.Fatalf("ArrivalRate = %v, want 50", got)
	}
	// Without a processed position the committed one measures progress.
	h2 := hist(10*time.Second, row{1000, 100, Unknown}, row{1000, 300, Unknown})
	if got := Rate(h2); got != 20 {
		t.Fatalf("Rate from commits = %v, want 20", got)
	}
	// A position that went backwards counts as no progress, not negative progress.
	if got := Rate(hist(time.Second, row{10, 8, 8}, row{10, 2, 2})); got != 0 {
		t.Fatalf("Rate after rewind = %v", got)
	}
	if got := Rate(h[:1]); got != 0 {
		t.Fatalf("Rate of one sample = %v", got)
	}
	if got := Drain(1500, 25); got != 60 {
		t.Fatalf("Drain = %v, want 60", got)
	}
	if got := Drain(0, 0); got != 0 {
		t.Fatalf("Drain without lag = %v", got)
	}
	if got := Drain(1, 0); !math.IsInf(got, 1) {
		t.Fatalf("Drain without rate = %v, want +Inf", got)
	}
}

func TestArrivalTime(t *testing.T) {
	// End 100 at t0, 200 at +10s, 200 at +20s, 400 at +30s.
	h := hist(10*time.Second, row{100, 0, 0}, row{200, 0, 0}, row{200, 0, 0}, row{400, 0, 0})
	for _, tc := range []struct {
		offset int64
		want   time.Duration // after t0
		ok     bool
	}{
		{150, 5 * time.Second, true},          // halfway between 100@0s and 200@10s
		{200, 10 * time.Second, true},         // reached exactly at the second sample
		{250, 22500 * time.Millisecond, true}, // 200@20s .. 400@30s: a quarter of the way
		{400, 30 * time.Second, true},
		{401, 0, false},              // not appended yet
		{100, 0, true},               // the oldest sample
		{40, -6 * time.Second, true}, // before the history: 60 records at 10/s
	} {
		got, ok := ArrivalTime(h, tc.offset)
		if ok != tc.ok || (ok && !got.Equal(t0.Add(tc.want))) {
			t.Errorf("ArrivalTime(%d) = %v %v, want t0%+v %v", tc.offset, got.Sub(t0), ok, tc.want, tc.ok)
		}
	}
	// Nothing appended over the history: the oldest sample's time is the best lower bound.
	flat := hist(10*time.Second, row{100, 0, 0}, row{100, 0, 0})
	if got, _ := ArrivalTime(flat, 50); !got.Equal(t0) {
		t.Errorf("ArrivalTime without arrivals = %v", got.Sub(t0))
	}
}

func TestTimeLag(t *testing.T) {
	now := t0.Add(30*time.Second + 250*time.Millisecond)
	h := hist(10*time.Second, row{100, 0, 50}, row{200, 0, 120}, row{200, 0, 150}, row{400, 0, 150})
	// Processed 150: End reached 150 at t0+5s (between 100@0 and 200@10s).
	if d, ok := TimeLag(h, now); !ok || d != 25250*time.Millisecond {
		t.Fatalf("estimated TimeLag = %v %v, want 25.25s", d, ok)
	}
	withTime := append(History(nil), h...)
	withTime[3].NewestRecordTime = t0.Add(29*time.Second + 999*time.Millisecond)
	if d, ok := TimeLag(withTime, now); !ok || d != 251*time.Millisecond {
		t.Fatalf("TimeLag from record time = %v %v, want 251ms", d, ok)
	}
	caught := hist(10*time.Second, row{100, 0, 100})
	caught[0].NewestRecordTime = t0.Add(-time.Hour)
	if d, ok := TimeLag(caught, now); !ok || d != 0 {
		t.Fatalf("caught-up TimeLag = %v %v, want 0", d, ok)
	}
	kin := History{{Time: t0, End: Unknown, Committed: Unknown, Processed: 7, MillisBehind: 1234}}
	if d, ok := TimeLag(kin, now); !ok || d != 1234*time.Millisecond {
		t.Fatalf("Kinesis TimeLag = %v %v", d, ok)
	}
	unknown := History{{Time: t0, End: Unknown, Committed: 3, Processed: Unknown, MillisBehind: Unknown}}
	if _, ok := TimeLag(unknown, now); ok {
		t.Fatal("TimeLag known without any time source")
	}
	if _, ok := TimeLag(nil, now); ok {
		t.Fatal("TimeLag of an empty history")
	}
}
