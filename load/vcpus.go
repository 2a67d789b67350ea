package load

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// VCPUs says how much CPU the task may use, and where that figure came from: taskLimit (the ECS
// task metadata's Limits.CPU, 0 when not on ECS) when positive, else the container's cgroup
// CPU quota (v2 cpu.max, then v1 cfs quota ÷ period) under root (normally /sys/fs/cgroup),
// else GOMAXPROCS. The task metadata comes first because on Fargate the limit is set on the
// task's cgroup, which the container does not see as its own.
func VCPUs(taskLimit float64, root string) (vcpus float64, source string) {
	if taskLimit > 0 {
		return taskLimit, "ecs-task-limit"
	}
	if q, ok := cgroupQuota(root); ok {
		return q, "cgroup-quota"
	}
	return float64(runtime.GOMAXPROCS(0)), "gomaxprocs"
}

// cgroupQuota reads the CPU bandwidth limit of the process's cgroup, v2 then v1. "max" and
// v1's -1 mean no limit.
func cgroupQuota(root string) (float64, bool) {
	if data, err := os.ReadFile(filepath.Join(root, "cpu.max")); err == nil {
		quota, period, _ := strings.Cut(strings.TrimSpace(string(data)), " ")
		return ratio(quota, period)
	}
	quota, err := os.ReadFile(filepath.Join(root, "cpu", "cpu.cfs_quota_us"))
	if err != nil {
		return 0, false
	}
	period, err := os.ReadFile(filepath.Join(root, "cpu", "cpu.cfs_period_us"))
	if err != nil {
		return 0, false
	}
	return ratio(strings.TrimSpace(string(quota)), strings.TrimSpace(string(period)))
}

func ratio(quota, period string) (float64, bool) {
	q, err := strconv.ParseInt(quota, 10, 64)
	if err != nil || q <= 0 {
		return 0, false
	}
	p, err := strconv.ParseInt(period, 10, 64)
	if err != nil || p <= 0 {
		return 0, false
	}
	return float64(q) / float64(p), true
}
