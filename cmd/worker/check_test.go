package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// -check refuses what the start refuses, in the setting the deploy templates run in: an
// unprivileged user in a read-only working directory. Each case runs the real binary twice,
// with -check and without, and both must fail naming the same field (the start exits 1 within
// its build, before anything runs). The last case is the start the issue reported: no file
// sink, EMF lines to a file under the read-only directory.
func TestCheckRefusesWhatTheStartRefuses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	wd := filepath.Join(sharedTempDir(t), "readonly")
	if err := os.Mkdir(wd, 0o555); err != nil {
		t.Fatal(err)
	}
	outDir := sharedTempDir(t) // writable for the worker's user
	if err := os.Chmod(outDir, 0o777); err != nil {
		t.Fatal(err)
	}
	base := []string{"HOME=/nonexistent", "WEIR_HTTP_ADDR=127.0.0.1:0", "WEIR_SUMMARY=off", "WEIR_SHUTDOWN_TIMEOUT=5s"}
	for _, tc := range []struct {
		name  string
		env   []string
		field string // "" means valid
	}{
		{"file sink in the working directory", []string{"WEIR_SINKS_FILE_DIR=out"}, "sinks.file.dir: cannot create out: . is not writable"},
		{"EMF file in the working directory", []string{"WEIR_SINKS_FILE_DIR=", "WEIR_SINKS_S3_BUCKET=weir-out",
			"WEIR_AWS_REGION=us-east-1", "WEIR_SINKS_CLOUDWATCH_EMF_PATH=out/metrics.emf"},
			"sinks.cloudwatch: cloudwatch.emf.path: cannot create out: . is not writable"},
		{"anomaly state in the working directory", []string{"WEIR_SINKS_FILE_DIR=" + outDir, "WEIR_ANOMALY_STATE_DIR=state"},
			"anomaly.state_dir: cannot create state: . is not writable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := append(append([]string{}, base...), tc.env...)
			code, out := runAs(t, bin, wd, env, "-check")
			if code != 2 || !strings.Contains(out, tc.field) {
				t.Errorf("-check: exit %d, want 2 naming %q:\n%s", code, tc.field, out)
			}
			code, out = runAs(t, bin, wd, env)
			if code != 1 || !strings.Contains(out, "startup failed") || !strings.Contains(out, tc.field) {
				t.Errorf("start: exit %d, want 1 naming %q:\n%s", code, tc.field, out)
			}
		})
	}
	// The same read-only directory with what the templates set (EMF on stdout, S3 only) is
	// valid, and -check leaves nothing behind.
	env := append(append([]string{}, base...), "WEIR_SINKS_FILE_DIR=", "WEIR_SINKS_S3_BUCKET=weir-out", "WEIR_AWS_REGION=us-east-1")
	if code, out := runAs(t, bin, wd, env, "-check"); code != 0 {
		t.Errorf("-check of a valid read-only setup: exit %d:\n%s", code, out)
	}
	if entries, _ := os.ReadDir(wd); len(entries) != 0 {
		t.Errorf("-check left %v in the working directory", entries)
	}
}

// buildBinary builds the worker where an unprivileged user can run it.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(sharedTempDir(t), "weir")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// sharedTempDir is a temporary directory that other users may enter (t.TempDir's are private
// to the test's user).
func sharedTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && strings.HasPrefix(d, os.TempDir()); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runAs runs bin with exactly env in dir, as nobody when the test runs as root (so that the
// read-only directory is read-only for it), and returns its exit code and output.
func runAs(t *testing.T, bin, dir string, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env = dir, env
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, out.String()
}
