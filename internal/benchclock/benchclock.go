// Package benchclock adds a cpu-ns/op metric to Go benchmarks: the CPU time of the benchmark's
// own thread per op. The test machines are shared and small, and wall-clock ns/op swings by
// tens of percent whenever another process takes the core; the thread's CPU time does not count
// time spent waiting for it. It leaves out work on other threads (the GC's background marking),
// so read it next to B/op.
package benchclock

import (
	"runtime"
	"syscall"
	"testing"
)

// Clock measures one benchmark loop: Start before it, Report once after it.
type Clock struct{ start int64 }

// rusageThread is Linux's RUSAGE_THREAD; elsewhere getrusage refuses it and no metric is
// reported.
const rusageThread = 1

// Start locks the benchmark goroutine to its thread and reads the thread's CPU time.
func Start() Clock {
	runtime.LockOSThread()
	return Clock{threadCPU()}
}

// Report records the metric for b.N ops and unlocks the thread.
func (c Clock) Report(b *testing.B) {
	if end := threadCPU(); c.start >= 0 && end >= 0 && b.N > 0 {
		b.ReportMetric(float64(end-c.start)/float64(b.N), "cpu-ns/op")
	}
	runtime.UnlockOSThread()
}

func threadCPU() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(rusageThread, &ru) != nil {
		return -1
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
