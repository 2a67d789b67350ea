// Package filetest reads back what the file sink wrote under a directory, for tests that run
// the whole worker and check its outputs: the throughput reports' record counts per window and
// partition, and the dead letters' reasons.
package filetest

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Lines calls fn with every line of every report object under root (.json and .json.gz), in
// lexical path order. The line is valid only during the call.
func Lines(t testing.TB, root string, fn func(line []byte)) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil // nothing written yet
			}
			return err
		}
		if d.IsDir() || !(strings.HasSuffix(path, ".json") || strings.HasSuffix(path, ".json.gz")) {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		var r io.Reader = f
		if strings.HasSuffix(path, ".gz") {
			zr, err := gzip.NewReader(f)
			if err != nil {
				return err
			}
			defer zr.Close()
			r = zr
		}
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			fn(sc.Bytes())
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// ThroughputRecords reads every throughput report under dir: window start (RFC 3339, UTC) →
// partition id → records.
func ThroughputRecords(t testing.TB, dir string) map[string]map[string]int64 {
	t.Helper()
	out := map[string]map[string]int64{}
	Lines(t, filepath.Join(dir, "kind=summary", "operator=throughput"), func(line []byte) {
		var r struct {
			Start      time.Time `json:"window_start"`
			Partitions []struct {
				Partition string `json:"partition"`
				Records   int64  `json:"records"`
			} `json:"partitions"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatal(err)
		}
		k := r.Start.UTC().Format(time.RFC3339)
		if out[k] == nil {
			out[k] = map[string]int64{}
		}
		for _, p := range r.Partitions {
			out[k][p.Partition] += p.Records
		}
	})
	return out
}

// Records is the number of records the throughput reports under dir count, over every window
// and partition.
func Records(t testing.TB, dir string) int64 {
	t.Helper()
	var n int64
	for _, w := range ThroughputRecords(t, dir) {
		for _, c := range w {
			n += c
		}
	}
	return n
}

// DeadLetterReasons counts the dead letters under dir by reason.
func DeadLetterReasons(t testing.TB, dir string) map[string]int {
	t.Helper()
	out := map[string]int{}
	Lines(t, filepath.Join(dir, "kind=deadletter"), func(line []byte) {
		var l struct{ Reason string }
		if err := json.Unmarshal(line, &l); err != nil {
			t.Fatal(err)
		}
		out[l.Reason]++
	})
	return out
}
