package file_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/sinks/file"
	"github.com/weirstream/weir/sinks/layout"
)

var win = pipeline.Window{Start: time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 21, 13, 1, 0, 0, time.UTC)}

func readLines(t *testing.T, path string, gz bool) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if gz {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	var out []map[string]any
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: line %q: %v", path, sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestReportsLandAtTheirKeyAndReplaysOverwrite(t *testing.T) {
	for _, gz := range []bool{false, true} {
		dir := t.TempDir()
		s, err := file.New(file.Config{Dir: dir, Gzip: gz})
		if err != nil {
			t.Fatal(err)
		}
		out := &pipeline.Output{Window: win, Owner: "events-2p-abc", Reports: []pipeline.Report{
			{Kind: "report", Name: "top talkers", Body: map[string]int{"n": 1}},
			{Kind: "anomaly", Name: "records", Body: map[string]int{"n": 2}},
			{Kind: "anomaly", Name: "records", Body: map[string]int{"n": 3}},
		}}
		for range 2 { // the second Write is a replay: same keys, same content, no duplicates
			if err := s.Write(context.Background(), out); err != nil {
				t.Fatal(err)
			}
		}
		rep := filepath.Join(dir, layout.ReportKey("report", "top talkers", win, out.Owner, gz))
		if lines := readLines(t, rep, gz); len(lines) != 1 || lines[0]["n"] != 1.0 {
			t.Errorf("gzip=%v: report object %v", gz, lines)
		}
		an := filepath.Join(dir, layout.ReportKey("anomaly", "records", win, out.Owner, gz))
		if lines := readLines(t, an, gz); len(lines) != 2 || lines[1]["n"] != 3.0 {
			t.Errorf("gzip=%v: anomaly object %v", gz, lines)
		}
		var files int
		_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, _ error) error {
			if !d.IsDir() {
				files++
			}
			return nil
		})
		if files != 2 {
			t.Errorf("gzip=%v: %d files after a replay, want 2 (no temporaries, no duplicates)", gz, files)
		}
	}
}

// Dead letters make one object per stream, whatever the partitions, each partition's letters
// together and in order; written again they overwrite it, leaving no temporary file.
func TestDeadLettersOneObjectPerStream(t *testing.T) {
	dir := t.TempDir()
	s, err := file.New(file.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	p0 := pipeline.Partition{Stream: "events", ID: "0"}
	p1 := pipeline.Partition{Stream: "events", ID: "1"}
	q0 := pipeline.Partition{Stream: "orders", ID: "0"}
	letters := []pipeline.DeadLetter{
		{Partition: p0, Position: pipeline.Position{Offset: 5}, Time: win.Start, Reason: "decode", Value: []byte("{bad")},
		{Partition: p1, Position: pipeline.Position{Offset: 9}, Time: win.Start, Reason: "late", Value: []byte("{}")},
		{Partition: q0, Position: pipeline.Position{Offset: 3}, Time: win.Start, Reason: "decode", Value: []byte("{")},
		{Partition: p0, Position: pipeline.Position{Offset: 7}, Time: win.Start, Reason: "decode", Value: []byte("{worse")},
	}
	for range 2 {
		if err := s.WriteDeadLetters(context.Background(), letters); err != nil {
			t.Fatal(err)
		}
	}
	events := filepath.Join(dir, layout.DeadLetterKey([]pipeline.DeadLetter{letters[0], letters[3], letters[1]}, false))
	lines := readLines(t, events, false)
	var got []string
	for _, l := range lines {
		got = append(got, fmt.Sprint(l["partition"], "/", l["position"]))
	}
	if strings.Join(got, " ") != "0/5 0/7 1/9" || lines[0]["value"] != "e2JhZA==" {
		t.Errorf("the events object holds %v: %v", got, lines)
	}
	if lines := readLines(t, filepath.Join(dir, layout.DeadLetterKey(letters[2:3], false)), false); len(lines) != 1 {
		t.Errorf("the orders object holds %v", lines)
	}
	var files []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return err
	})
	if len(files) != 2 {
		t.Errorf("two writes of two streams' letters left %v, want 2 objects", files)
	}
}

func TestConfigNamesTheField(t *testing.T) {
	if _, err := file.New(file.Config{}); err == nil || err.Error() != "sinks.file.dir: must not be empty" {
		t.Errorf("got %v", err)
	}
}
