package main

import (
	"os"
	"strings"
	"testing"

	"github.com/weirstream/weir/internal/workerproc"
)

// -check refuses what the start refuses, in the setting the deploy templates run in: an
// unprivileged user in a read-only working directory. Each case runs the real binary twice,
// with -check and without, and both must fail naming the same field (the start exits 1 within
// its build, before anything runs). The second case is the start the issue reported: no file
// sink, EMF lines to a file under the read-only directory.
func TestCheckRefusesWhatTheStartRefuses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := workerproc.Build(t, ".")
	wd := workerproc.ReadOnly(t)
	base := []string{"HOME=/nonexistent", "WEIR_HTTP_ADDR=127.0.0.1:0", "WEIR_SUMMARY=off", "WEIR_SHUTDOWN_TIMEOUT=5s"}
	for _, tc := range []struct {
		name  string
		env   []string
		field string
	}{
		{"file sink in the working directory", []string{"WEIR_SINKS_FILE_DIR=out"}, "sinks.file.dir: cannot create out: . is not writable"},
		{"EMF file in the working directory", []string{"WEIR_SINKS_FILE_DIR=", "WEIR_SINKS_S3_BUCKET=weir-out",
			"WEIR_AWS_REGION=us-east-1", "WEIR_SINKS_CLOUDWATCH_EMF_PATH=out/metrics.emf"},
			"sinks.cloudwatch: cloudwatch.emf.path: cannot create out: . is not writable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := append(append([]string{}, base...), tc.env...)
			code, out := workerproc.Run(t, bin, wd, env, "-check")
			if code != 2 || !strings.Contains(out, tc.field) {
				t.Errorf("-check: exit %d, want 2 naming %q:\n%s", code, tc.field, out)
			}
			code, out = workerproc.Run(t, bin, wd, env)
			if code != 1 || !strings.Contains(out, "startup failed") || !strings.Contains(out, tc.field) {
				t.Errorf("start: exit %d, want 1 naming %q:\n%s", code, tc.field, out)
			}
		})
	}
	// The same read-only directory with what the templates set (EMF on stdout, S3 only) is
	// valid, and -check leaves nothing behind.
	env := append(append([]string{}, base...), "WEIR_SINKS_FILE_DIR=", "WEIR_SINKS_S3_BUCKET=weir-out", "WEIR_AWS_REGION=us-east-1")
	if code, out := workerproc.Run(t, bin, wd, env, "-check"); code != 0 {
		t.Errorf("-check of a valid read-only setup: exit %d:\n%s", code, out)
	}
	if entries, _ := os.ReadDir(wd); len(entries) != 0 {
		t.Errorf("-check left %v in the working directory", entries)
	}
}
