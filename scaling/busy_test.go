package scaling

import (
	"testing"
	"time"
)

// BusyFraction is the change of the busy time over the change of all time between calls.
func TestBusyFraction(t *testing.T) {
	var busy, backpressured, idle time.Duration // a scripted stage
	fraction := BusyFraction(func() (time.Duration, time.Duration, time.Duration) { return busy, backpressured, idle })
	if got := fraction(); got != 1 {
		t.Fatalf("busy without stage time = %v, want 1", got)
	}
	busy, idle, backpressured = 3*time.Second, 6*time.Second, time.Second
	if got := fraction(); got != 0.3 {
		t.Fatalf("busy since start = %v, want 0.3", got)
	}
	busy += 9 * time.Second
	idle += time.Second
	if got := fraction(); got != 0.9 {
		t.Fatalf("busy over the interval = %v, want 0.9", got)
	}
	if got := fraction(); got != 1 {
		t.Fatalf("busy with no time elapsed = %v, want 1", got)
	}
}
