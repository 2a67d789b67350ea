package lag

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestEvaluate(t *testing.T) {
	const w = 30 * time.Second // with 10s steps, 4 samples span the window
	step := 10 * time.Second
	for _, tc := range []struct {
		name string
		h    History
		want Status
	}{
		{"empty", nil, OK},
		{"draining", hist(step, row{1000, 100, 300}, row{1100, 300, 600}, row{1200, 600, 900}, row{1300, 900, 1200}), OK},
		{"caught up once", hist(step, row{100, 50, 50}, row{100, 100, 100}, row{200, 100, 100}, row{300, 100, 100}), OK},
		{"too little history for STALL", hist(step, row{1000, 100, 100}, row{1100, 100, 100}, row{1200, 100, 100}), OK},
		{"stall: nothing moves", hist(step, row{1000, 100, 100}, row{1100, 100, 100}, row{1200, 100, 100}, row{1300, 100, 100}), STALL},
		{"stall with constant end too", hist(step, row{1000, 100, 100}, row{1000, 100, 100}, row{1000, 100, 100}, row{1000, 100, 100}), STALL},
		{"stop: processing, no commits", hist(step, row{1000, 100, 100}, row{1000, 100, 300}, row{1000, 100, 500}, row{1000, 100, 700}), STOP},
		{"stop: never committed", hist(step, row{1000, Unknown, 100}, row{1000, Unknown, 300}, row{1000, Unknown, 500}, row{1000, Unknown, 700}), STOP},
		{"warn: lag grows while committing", hist(step, row{1000, 100, 200}, row{1200, 200, 300}, row{1400, 300, 400}, row{1600, 400, 500}), WARN},
		{"warn: lag flat while committing", hist(step, row{1000, 100, 200}, row{1100, 200, 300}, row{1200, 300, 400}, row{1300, 400, 500}), WARN},
		{"ok: lag dipped once", hist(step, row{1000, 100, 200}, row{1200, 200, 300}, row{1250, 300, 400}, row{1600, 400, 500}), OK},
		{"rewind", hist(step, row{1000, 500, 600}, row{1000, 200, 600}), REWIND},
		{"rewind wins over caught up", hist(step, row{1000, 1000, 1000}, row{1000, 900, 1000}), REWIND},
		{"a first commit is not a rewind", hist(step, row{1000, Unknown, 10}, row{1000, 5, 10}), OK},
	} {
		if got := Evaluate(tc.h, w); got != tc.want {
			t.Errorf("%s: Evaluate = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestEvaluateKinesisOnMillisBehind(t *testing.T) {
	h := make(History, 4)
	for i := range h {
		h[i] = Sample{Time: t0.Add(time.Duration(i) * 10 * time.Second), End: Unknown, Committed: int64(10 * i),
			Processed: int64(20 * i), MillisBehind: int64(1000 + 500*i)}
	}
	if got := Evaluate(h, 30*time.Second); got != WARN {
		t.Fatalf("growing MillisBehind = %v, want WARN", got)
	}
	h[3].MillisBehind = 0
	if got := Evaluate(h, 30*time.Second); got != OK {
		t.Fatalf("caught up = %v, want OK", got)
	}
}

func TestStatusNames(t *testing.T) {
	b, err := json.Marshal([]Status{OK, WARN, STOP, STALL, REWIND})
	if err != nil || string(b) != `["OK","WARN","STOP","STALL","REWIND"]` {
		t.Fatalf("json = %s %v", b, err)
	}
	if Status(9).String() != "UNKNOWN" {
		t.Fatal("out-of-range status has a name")
	}
}

func TestHistoryPush(t *testing.T) {
	cfg := Config{Window: 30 * time.Second, Interval: 10 * time.Second, DrainCap: time.Hour}
	var h History
	at := func(d time.Duration, end int64) Sample {
		return Sample{Time: t0.Add(d), End: end, Committed: Unknown, Processed: Unknown, MillisBehind: Unknown}
	}
	// A source reporting every second keeps one provisional newest entry between samples.
	for s := 0; s <= 12; s++ {
		h = h.push(at(time.Duration(s)*time.Second, int64(s)), cfg)
	}
	times := func() (out []time.Duration) {
		for _, s := range h {
			out = append(out, s.Time.Sub(t0))
		}
		return out
	}
	if got := times(); len(got) != 4 || got[0] != 0 || got[1] != 5*time.Second || got[2] != 10*time.Second || got[3] != 12*time.Second {
		t.Fatalf("history times = %v, want [0 5s 10s 12s]", got)
	}
	// Out of order samples are ignored.
	h = h.push(at(11*time.Second, 99), cfg)
	if h.newest().End != 12 {
		t.Fatalf("out-of-order sample accepted: %+v", h.newest())
	}
	// Far ahead: only the anchor at or before the window start survives from the past.
	for s := 20; s <= 100; s += 10 {
		h = h.push(at(time.Duration(s)*time.Second, int64(s)), cfg)
	}
	if got := times(); len(got) != 4 || got[0] != 70*time.Second || got[3] != 100*time.Second {
		t.Fatalf("history times = %v, want 70s..100s", got)
	}
	if !h.full(cfg.Window) || h[:3].full(cfg.Window) {
		t.Fatal("full is wrong")
	}
	// Never more than capacity, however the samples are spaced.
	for s := 0; s < 1000; s++ {
		h = h.push(at(100*time.Second+time.Duration(s)*5*time.Second, int64(s)), cfg)
		if len(h) > cfg.capacity() {
			t.Fatalf("history grew to %d > %d", len(h), cfg.capacity())
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := Config{Window: 0, Interval: time.Millisecond, PartitionPoints: -1}
	err := bad.Validate()
	for _, field := range []string{"lag.interval", "lag.window", "lag.partition_points", "lag.drain_cap"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("error %v does not name %s", err, field)
		}
	}
}
