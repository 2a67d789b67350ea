package worker

import (
	"math"
	"runtime/debug"
	"strings"
	"testing"
	"testing/fstest"
)

// The cgroup layouts a worker meets, as files: the limit found and the file it came from.
func TestCgroupMemoryLimit(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	for _, c := range []struct {
		name     string
		files    fstest.MapFS
		want     int64
		wantFrom string
	}{
		{"v2, own namespace (ECS, Docker): the mount is the container's cgroup", fstest.MapFS{
			"proc/self/cgroup":         file("0::/\n"),
			"sys/fs/cgroup/memory.max": file("536870912\n"),
		}, 512 << 20, "/sys/fs/cgroup/memory.max"},
		{"v2, no limit", fstest.MapFS{
			"proc/self/cgroup":         file("0::/\n"),
			"sys/fs/cgroup/memory.max": file("max\n"),
		}, 0, ""},
		{"v2, host namespace: the process's own cgroup, not the mount's root", fstest.MapFS{
			"proc/self/cgroup": file("0::/system.slice/weir.service\n"),
			"sys/fs/cgroup/system.slice/weir.service/memory.max": file("268435456\n"),
		}, 256 << 20, "/sys/fs/cgroup/system.slice/weir.service/memory.max"},
		{"v2, a tighter ancestor (a pod or task around the container) binds", fstest.MapFS{
			"proc/self/cgroup":                           file("0::/kubepods/pod1/ctr\n"),
			"sys/fs/cgroup/kubepods/pod1/ctr/memory.max": file("max\n"),
			"sys/fs/cgroup/kubepods/pod1/memory.max":     file("1073741824\n"),
			"sys/fs/cgroup/kubepods/memory.max":          file("8589934592\n"),
		}, 1 << 30, "/sys/fs/cgroup/kubepods/pod1/memory.max"},
		{"v1, own mount: the full path does not exist under it, its root is the container's", fstest.MapFS{
			"proc/self/cgroup":                           file("12:cpu,cpuacct:/docker/abc\n11:memory:/docker/abc\n"),
			"sys/fs/cgroup/memory/memory.limit_in_bytes": file("2147483648\n"),
		}, 2 << 30, "/sys/fs/cgroup/memory/memory.limit_in_bytes"},
		{"v1, no limit (page-rounded MaxInt64)", fstest.MapFS{
			"proc/self/cgroup":                           file("11:memory:/\n"),
			"sys/fs/cgroup/memory/memory.limit_in_bytes": file("9223372036854771712\n"),
		}, 0, ""},
		{"no procfs: the mount's root as a container sees it", fstest.MapFS{
			"sys/fs/cgroup/memory.max": file("104857600\n"),
		}, 100 << 20, "/sys/fs/cgroup/memory.max"},
		{"nothing mounted", fstest.MapFS{"proc/self/cgroup": file("0::/\n")}, 0, ""},
		{"garbage in the file is no limit", fstest.MapFS{
			"proc/self/cgroup":         file("0::/\n"),
			"sys/fs/cgroup/memory.max": file("lots\n"),
		}, 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, from := cgroupMemoryLimit(c.files)
			if got != c.want || from != c.wantFrom {
				t.Errorf("cgroupMemoryLimit = %d from %q, want %d from %q", got, from, c.want, c.wantFrom)
			}
		})
	}
}

// ApplyMemoryLimit sets the runtime's soft limit to the configured share of the limit, names
// where both came from, and sets none when told not to. (GOMEMLIMIT winning is the first case
// of the switch; the test process's own GOMEMLIMIT, if any, is restored afterwards.)
func TestApplyMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	if prev != math.MaxInt64 {
		t.Skip("GOMEMLIMIT is set for this test process: the soft limit is the environment's")
	}
	root := fstest.MapFS{
		"proc/self/cgroup":         {Data: []byte("0::/\n")},
		"sys/fs/cgroup/memory.max": {Data: []byte("2147483648\n")},
	}
	m := ApplyMemoryLimit(DefaultMemoryConfig(), root)
	if m.Bytes != 2<<30 || m.From != "/sys/fs/cgroup/memory.max" {
		t.Errorf("limit %d from %q, want 2 GiB from the cgroup file", m.Bytes, m.From)
	}
	want := int64(2<<30) / 100 * 90
	if m.GoSoftLimit != want || m.GoSoftFrom != "memory.go_limit_percent" || debug.SetMemoryLimit(-1) != want {
		t.Errorf("soft limit %d from %q, runtime's %d; want %d from memory.go_limit_percent", m.GoSoftLimit, m.GoSoftFrom, debug.SetMemoryLimit(-1), want)
	}
	debug.SetMemoryLimit(math.MaxInt64)

	m = ApplyMemoryLimit(MemoryConfig{LimitBytes: 512 << 20, GoLimitPercent: 80}, root)
	if m.Bytes != 512<<20 || m.From != "memory.limit_bytes" || m.GoSoftLimit != (512<<20)/100*80 {
		t.Errorf("configured limit: %+v", m)
	}
	debug.SetMemoryLimit(math.MaxInt64)

	m = ApplyMemoryLimit(MemoryConfig{GoLimitPercent: 0}, root)
	if m.GoSoftLimit != 0 || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Errorf("go_limit_percent 0 set a soft limit: %+v, runtime's %d", m, debug.SetMemoryLimit(-1))
	}

	// GOMEMLIMIT (here: a limit already in force when the worker starts) wins over the
	// percentage and is the limit when nothing else is configured.
	debug.SetMemoryLimit(300 << 20)
	m = ApplyMemoryLimit(DefaultMemoryConfig(), root)
	if m.Bytes != 300<<20 || m.From != "GOMEMLIMIT" || m.GoSoftLimit != 300<<20 || m.GoSoftFrom != "GOMEMLIMIT" {
		t.Errorf("with GOMEMLIMIT: %+v", m)
	}
}

func TestMemoryConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg  MemoryConfig
		want string
	}{
		{DefaultMemoryConfig(), ""},
		{MemoryConfig{LimitBytes: 1 << 30, GoLimitPercent: 100}, ""},
		{MemoryConfig{LimitBytes: 1 << 20, GoLimitPercent: 90}, "memory.limit_bytes"},
		{MemoryConfig{LimitBytes: -1, GoLimitPercent: 90}, "memory.limit_bytes"},
		{MemoryConfig{GoLimitPercent: 101}, "memory.go_limit_percent"},
		{MemoryConfig{GoLimitPercent: -5}, "memory.go_limit_percent"},
	} {
		err := c.cfg.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
}
