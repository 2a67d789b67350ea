package deploy

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// `make test` is CI's test command (.ci/run). Tests that skip themselves under the race
// detector (allocation and heap checks) or shrink there (the accuracy suites) live in packages
// with a `//go:build !race` test file; make test must also run each such package without -race,
// or CI never runs those tests at full size.
func TestMakeTestRunsRaceSkippedTestsWithoutRace(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.HasPrefix(data, []byte("//go:build !race\n")) {
			rel, _ := filepath.Rel(root, filepath.Dir(path))
			want["./"+filepath.ToSlash(rel)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		t.Fatal("no package with a //go:build !race test file: the check proves nothing")
	}
	out, err := exec.Command("make", "-s", "-n", "-C", root, "test").Output()
	if err != nil {
		t.Fatalf("make -n test: %v", err)
	}
	raced, plain := false, map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[1] != "test" {
			continue
		}
		if strings.Contains(sc.Text(), " -race") {
			raced = raced || strings.HasSuffix(sc.Text(), " ./...")
			continue
		}
		for _, a := range f[2:] {
			if strings.HasPrefix(a, "./") {
				plain[strings.TrimSuffix(a, "/")] = true
			}
		}
	}
	if !raced {
		t.Errorf("make test runs no `go test -race ./...`:\n%s", out)
	}
	for p := range want {
		if !plain[p] && !plain["./..."] {
			t.Errorf("make test never runs %s without -race (its race-skipped tests would never run in CI):\n%s", p, out)
		}
	}
}
