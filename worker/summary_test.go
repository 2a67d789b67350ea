package worker

import (
	"testing"
	"time"
)

// lagOnly is a Source that answers Lag as *kinesis.Source does.
type lagOnly struct {
	Source
	d     time.Duration
	known bool
}

func (l lagOnly) Lag() (time.Duration, bool) { return l.d, l.known }

// The live summary never shows a worker holding a Kinesis shard not read yet as caught up:
// its lag is at least what the other shards read ("≥"), or unknown ("?").
func TestSummaryLagOfAShardNotReadYet(t *testing.T) {
	for _, tc := range []struct {
		d     time.Duration
		known bool
		want  string
	}{
		{1500 * time.Millisecond, true, "1.5s"},
		{0, true, "0s"},
		{1500 * time.Millisecond, false, "≥1.5s"},
		{0, false, "?"},
	} {
		if got := behind(lagOnly{d: tc.d, known: tc.known}); got != tc.want {
			t.Errorf("Lag %v, known %v: summary shows %q, want %q", tc.d, tc.known, got, tc.want)
		}
	}
}
