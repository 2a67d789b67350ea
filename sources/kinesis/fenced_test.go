package kinesis

import (
	"context"
	"testing"
	"time"
)

// An answered write renews the lease from when it was sent (README, "a write found landed renews
// the lease as an answered one does, from when it was sent"): the table may have applied it at
// any point before its answer came, and another worker's expiry is timed from when it saw the
// counter move, so the worker's own expiry must not start later than the write's landing. The
// write here is answered 50 ms after it reached the table.
func TestAnsweredWriteRenewsFromWhenSent(t *testing.T) {
	h := &held{shard: "shardId-0", counter: 3, cancel: func() {}}
	var landed time.Time
	write := func(ctx context.Context, counter int64) (int64, string, error) {
		landed = time.Now()
		time.Sleep(50 * time.Millisecond) // the answer's way back
		return counter + 1, "", nil
	}
	if _, err := (&Source{}).fencedWrite(context.Background(), h, time.Second, write); err != nil {
		t.Fatal(err)
	}
	if h.counter != 4 {
		t.Errorf("counter %d after an answered write on 3, want 4", h.counter)
	}
	if h.lastRenew.After(landed) {
		t.Errorf("the lease renewed from %v after the write landed: the worker's own expiry would outlast what other workers see", h.lastRenew.Sub(landed))
	}
}
