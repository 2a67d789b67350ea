package worker

import (
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/weirstream/weir/pipeline"
)

// MemoryLimit returns the memory the process may use: GOMEMLIMIT if set, else the cgroup (v2,
// then v1) limit of the container, else 0 (unknown). When only the cgroup limit is known it
// also sets the Go runtime's soft limit to 90% of it, so the garbage collector works harder
// before the kernel's OOM killer does (the container's own GOMEMLIMIT, when given, wins).
// That is a process-wide setting, so main calls it, once, and passes the result in Deps.
func MemoryLimit() int64 {
	if lim := debug.SetMemoryLimit(-1); lim != math.MaxInt64 {
		return lim
	}
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(data))
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 || n >= 1<<60 { // "max", or v1's "no limit" sentinel
			continue
		}
		debug.SetMemoryLimit(n / 10 * 9)
		return n
	}
	return 0
}

// budgetBytes is the in-flight byte budget: the configured value, else a quarter of the memory
// limit (window state, sink buffers and the Go heap's headroom need the rest), else
// pipeline.DefaultBudgetBytes.
func budgetBytes(configured, memLimit int64) int64 {
	switch {
	case configured > 0:
		return configured
	case memLimit > 0:
		return max(memLimit/4, 4<<20)
	default:
		return pipeline.DefaultBudgetBytes
	}
}
