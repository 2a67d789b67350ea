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

// The real binary, on its embedded default, receives a real SIGTERM mid-window: it drains (the
// windows it closed are reported by its aggregator, a fleet of one; the window still open is
// left to the partitions' next owner, which for the embedded demo's in-memory broker there is
// none), exits 0, and does so well inside the shutdown deadline.
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
	cmd.Env = append(os.Environ(), "WEIR_SOURCE_DEMO_RATE=5000", "WEIR_WINDOW_PERIOD=2s", "WEIR_WINDOW_ALLOWED_LATENESS=1s",
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
	time.Sleep(7 * time.Second) // a few 2s windows closed; one is open
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
	reported := filetest.Records(t, filepath.Join(dir, "out"))
	if reported == 0 || reported >= processed {
		t.Errorf("reports hold %d records of the %d processed: want the closed windows' (some, not the open one's)", reported, processed)
	}
	for w := range filetest.ThroughputRecords(t, filepath.Join(dir, "out")) {
		if start, err := time.Parse(time.RFC3339, w); err != nil || !start.Add(2*time.Second).Before(sent) {
			t.Errorf("a report of window %s, which had not ended at the SIGTERM (%v)", w, err)
		}
	}
	t.Logf("SIGTERM → exit 0 in %v; %d records processed, %d reported", took.Round(time.Millisecond), processed, reported)
}
