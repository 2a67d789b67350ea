//go:build unix

package load

import (
	"syscall"
	"time"
)

// ProcessCPU returns the CPU time the process has spent so far, user plus system, over all its
// threads (getrusage(RUSAGE_SELF)): decoding, fetching, garbage collection, the sinks, and
// whatever else the task does. ok is false when the kernel would not tell.
func ProcessCPU() (cpu time.Duration, ok bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
