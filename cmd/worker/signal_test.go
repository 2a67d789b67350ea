package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/weirstream/weir/sinks/file/filetest"
)

// The real binary, on its embedded default, receives a real SIGTERM mid-window: it drains
// (every processed record ends up in a flushed window report), exits 0, and does so well inside
// the shutdown deadline.
func TestSIGTERMDrainsAndExitsZero(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "weir")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	cmd := exec.Command(bin)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "WEIR_SOURCE_DEMO_RATE=5000", "WEIR_WINDOW_PERIOD=60s",
		"WEIR_HTTP_ADDR=127.0.0.1:0", "WEIR_SUMMARY=off", "WEIR_SHUTDOWN_TIMEOUT=20s")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	time.Sleep(3 * time.Second) // a 60s window is open and holds everything so far
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var stopped string
	for l := range lines {
		if regexp.MustCompile(`msg=stopped`).MatchString(l) {
			stopped = l
		}
	}
	err = cmd.Wait()
	took := time.Since(sent)
	if err != nil {
		t.Fatalf("exit: %v (last: %s)", err, stopped)
	}
	if took > 20*time.Second {
		t.Errorf("drain took %v", took)
	}
	m := regexp.MustCompile(`records=(\d+)`).FindStringSubmatch(stopped)
	if m == nil {
		t.Fatalf("no final summary line; got %q", stopped)
	}
	processed, _ := strconv.ParseInt(m[1], 10, 64)
	if processed == 0 {
		t.Fatal("nothing was processed in 3s")
	}
	if got := filetest.Records(t, filepath.Join(dir, "out")); got != processed {
		t.Errorf("flushed reports hold %d records, the worker processed %d", got, processed)
	}
	t.Logf("SIGTERM → exit 0 in %v with %d records flushed", took.Round(time.Millisecond), processed)
}
