//go:build !unix

package load

import "time"

// ProcessCPU is not measured on this platform: reports say CPUSeconds -1, which the sizing
// reads as "fully busy" (it never assumes spare capacity it has not measured).
func ProcessCPU() (time.Duration, bool) { return 0, false }
