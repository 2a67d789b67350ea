package load

import (
	"context"
	"testing"
	"time"
)

// Ticks fall on the grid's boundaries plus the offset, and stop with the context.
func TestOnGrid(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var ticks []time.Time
	done := make(chan struct{})
	go func() {
		defer close(done)
		OnGrid(ctx, time.Second, 300*time.Millisecond, func(now time.Time) {
			if ticks = append(ticks, now); len(ticks) == 2 {
				cancel()
			}
		})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("OnGrid did not stop with its context")
	}
	for _, tk := range ticks {
		// Timers fire at or after their time; a loaded machine may add a little.
		if off := tk.Sub(tk.Truncate(time.Second)); off < 300*time.Millisecond || off > 700*time.Millisecond {
			t.Errorf("tick at %v: %v past the boundary, want 300ms", tk, off)
		}
	}
	if len(ticks) != 2 || ticks[1].Sub(ticks[0]) < 500*time.Millisecond {
		t.Errorf("ticks %v", ticks)
	}
}
