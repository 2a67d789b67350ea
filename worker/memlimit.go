package worker

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/weirstream/weir/pipeline"
)

// MemoryConfig is the `memory` section: what the worker takes as its memory limit, and how much
// of it the Go runtime is told it may use.
type MemoryConfig struct {
	// LimitBytes is the memory the worker may use. 0 (the default) reads it: GOMEMLIMIT if
	// set, else the tightest cgroup limit on the process (v2 memory.max, v1
	// memory.limit_in_bytes, its own cgroup's and its ancestors' that are visible). Set it where
	// the limit is not visible from inside: an ECS task with only a task-level memory size, a
	// VM, a process whose cgroup is not mounted.
	LimitBytes int64 `yaml:"limit_bytes"`
	// GoLimitPercent is the Go runtime's soft memory limit as a percentage of the limit
	// (default 90; 0 sets none). Without it the garbage collector lets the heap grow to twice
	// what was live at the last collection, whatever the container's size: after a stall, when
	// the batches held in the budget were live at that collection, that overshoot is what the
	// kernel's OOM killer sees. With it the collector works harder as the process nears the
	// limit instead. A GOMEMLIMIT in the environment wins.
	GoLimitPercent int `yaml:"go_limit_percent"`
}

// DefaultMemoryConfig reads the limit and gives the Go runtime 90% of it: the rest covers what
// the runtime does not count (the binary, thread stacks outside the heap, cgo) and a collection
// that finishes late.
func DefaultMemoryConfig() MemoryConfig { return MemoryConfig{GoLimitPercent: 90} }

// Validate names the field at fault.
func (c MemoryConfig) Validate() error {
	var errs []error
	if c.LimitBytes < 0 || (c.LimitBytes > 0 && c.LimitBytes < 16<<20) {
		errs = append(errs, fmt.Errorf("memory.limit_bytes: %d is below 16 MiB (0 reads the container's limit)", c.LimitBytes))
	}
	if c.GoLimitPercent < 0 || c.GoLimitPercent > 100 {
		errs = append(errs, fmt.Errorf("memory.go_limit_percent: %d is not in [0, 100] (0 sets no soft limit)", c.GoLimitPercent))
	}
	return errors.Join(errs...)
}

// MemoryLimit is what the worker knows about its memory: the limit it sizes its in-flight budget
// from and the Go runtime's soft limit, each with where it came from (logged at start).
type MemoryLimit struct {
	// Bytes is the memory the process may use; 0 when unknown.
	Bytes int64
	// From says where Bytes came from: "memory.limit_bytes", "GOMEMLIMIT" or the cgroup file
	// read; empty when unknown.
	From string
	// GoSoftLimit is the Go runtime's soft limit in force (runtime/debug.SetMemoryLimit); 0 when
	// none.
	GoSoftLimit int64
	// GoSoftFrom is "GOMEMLIMIT" (the environment's, which wins) or "memory.go_limit_percent".
	GoSoftFrom string
}

// ApplyMemoryLimit works out the process's memory limit (see MemoryConfig.LimitBytes) from
// root (the file system at "/": os.DirFS("/")) and, unless GOMEMLIMIT is set, gives the Go
// runtime its soft limit. That is a process-wide setting, so main calls it, once, and passes
// the result to Build in Deps.
func ApplyMemoryLimit(cfg MemoryConfig, root fs.FS) MemoryLimit {
	var m MemoryLimit
	envSoft := debug.SetMemoryLimit(-1) // the runtime read GOMEMLIMIT at start; MaxInt64 is none
	switch {
	case cfg.LimitBytes > 0:
		m.Bytes, m.From = cfg.LimitBytes, "memory.limit_bytes"
	case envSoft != math.MaxInt64:
		m.Bytes, m.From = envSoft, "GOMEMLIMIT"
	default:
		m.Bytes, m.From = cgroupMemoryLimit(root)
	}
	switch {
	case envSoft != math.MaxInt64:
		m.GoSoftLimit, m.GoSoftFrom = envSoft, "GOMEMLIMIT"
	case m.Bytes > 0 && cfg.GoLimitPercent > 0:
		m.GoSoftLimit, m.GoSoftFrom = softLimit(m.Bytes, cfg.GoLimitPercent), "memory.go_limit_percent"
		debug.SetMemoryLimit(m.GoSoftLimit)
	}
	return m
}

// softLimit is percent of limit, without overflowing for limits near the top of int64.
func softLimit(limit int64, percent int) int64 { return limit / 100 * int64(percent) }

// cgroupMemoryLimit returns the tightest memory limit the kernel puts on this process through
// its cgroups, and the file that set it, or 0 and "" when there is none. The process's own
// cgroup comes from proc/self/cgroup; the files are read from it up to the hierarchy's root,
// because a limit on an ancestor binds as well (a systemd slice, a pod or an ECS task around the
// container). Inside a container with its own cgroup namespace the path is "/" and the mount is
// the container's own cgroup; with the host's namespace (cgroup v1 hosts, cgroupns=host) the
// path is the full one and only the files that exist under the mount count.
func cgroupMemoryLimit(root fs.FS) (int64, string) {
	data, err := fs.ReadFile(root, "proc/self/cgroup")
	if err != nil {
		// No procfs: look at the mount's root alone, as a container sees its own cgroup.
		data = []byte("0::/\n")
	}
	var best int64
	var from string
	consider := func(file string) {
		raw, err := fs.ReadFile(root, file)
		if err != nil {
			return
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
		// "max" (v2) and v1's page-rounded MaxInt64 both say "no limit".
		if err != nil || n <= 0 || n >= 1<<60 {
			return
		}
		if best == 0 || n < best {
			best, from = n, "/"+file
		}
	}
	for _, line := range strings.Split(string(data), "\n") {
		// hierarchy-ID:controller-list:cgroup-path
		f := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(f) != 3 {
			continue
		}
		var mount, file string
		switch {
		case f[0] == "0" && f[1] == "": // the v2 unified hierarchy
			mount, file = "sys/fs/cgroup", "memory.max"
		case hasController(f[1], "memory"): // v1's memory controller
			mount, file = "sys/fs/cgroup/memory", "memory.limit_in_bytes"
		default:
			continue
		}
		for dir := path.Clean("/" + f[2]); ; dir = path.Dir(dir) {
			consider(path.Join(mount, dir, file))
			if dir == "/" {
				break
			}
		}
	}
	return best, from
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
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
