package load

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func TestVCPUs(t *testing.T) {
	write := func(t *testing.T, root string, files map[string]string) {
		t.Helper()
		for name, body := range files {
			path := filepath.Join(root, name)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	gomax := float64(runtime.GOMAXPROCS(0))
	cases := []struct {
		name      string
		taskLimit float64
		files     map[string]string
		want      float64
		source    string
	}{
		{"ecs task limit first", 0.5, map[string]string{"cpu.max": "200000 100000\n"}, 0.5, "ecs-task-limit"},
		{"cgroup v2 quota", 0, map[string]string{"cpu.max": "150000 100000\n"}, 1.5, "cgroup-quota"},
		{"cgroup v2 without limit", 0, map[string]string{"cpu.max": "max 100000\n"}, gomax, "gomaxprocs"},
		{"cgroup v1 quota", 0, map[string]string{"cpu/cpu.cfs_quota_us": "25000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 0.25, "cgroup-quota"},
		{"cgroup v1 without limit", 0, map[string]string{"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, gomax, "gomaxprocs"},
		{"garbage", 0, map[string]string{"cpu.max": "lots\n"}, gomax, "gomaxprocs"},
		{"no cgroup", 0, nil, gomax, "gomaxprocs"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			write(t, root, c.files)
			got, src := VCPUs(c.taskLimit, root)
			if got != c.want || src != c.source {
				t.Errorf("VCPUs = %v (%s), want %v (%s)", got, src, c.want, c.source)
			}
		})
	}
}

// The process's CPU time grows while it computes.
func TestProcessCPUGrows(t *testing.T) {
	before, ok := ProcessCPU()
	if !ok {
		t.Skip("getrusage unavailable")
	}
	deadline := time.Now().Add(2 * time.Second)
	x := 1.0
	for {
		for i := 0; i < 1e6; i++ {
			x = x*1.0000001 + 1e-9
		}
		if after, _ := ProcessCPU(); after-before >= 20*time.Millisecond || time.Now().After(deadline) {
			if after-before < 20*time.Millisecond {
				t.Fatalf("CPU time grew by %v while spinning for 2s", after-before)
			}
			break
		}
	}
	_ = x
}
