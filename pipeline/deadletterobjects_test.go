package pipeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/pipeline/pipelinetest"
	"github.com/weirstream/weir/sinks/file"
	"github.com/weirstream/weir/sinks/file/filetest"
)

// A flood of bad records across partitions is written in few objects: every dead letter once
// cost its partition an object per flush (a temporary file, two fsyncs and a rename), so with
// every record of 8 partitions bad, creating and syncing files was most of the dead-letter
// path's time. 10,000 letters over 8 partitions arrive within one flush and are one object
// (two at most, should the machine split the flush); each letter is in exactly one.
func TestDeadLettersAcrossPartitionsShareObjects(t *testing.T) {
	const parts, perPartition = 8, 1250
	dir := t.TempDir()
	fsink, err := file.New(file.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	cfg := pipeline.DefaultWindowConfig()
	cfg.TimeField = "$.ts"
	rt, err := pipeline.New(pipeline.Options{
		Window: cfg, Plan: decode.NewPlan(decode.JSON), Partials: fsink.PartialStore(), DeadLetters: fsink,
		Committer: pipelinetest.Discard{}, Budget: pipeline.NewBudget(1 << 30),
		Metrics: pipeline.NewMetrics(prometheus.NewRegistry()), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	rt.Start()
	ctx := context.Background()
	for p := range parts {
		part := pipeline.Partition{Stream: "events", ID: fmt.Sprint(p)}
		f, err := rt.Assign(part, nil)
		if err != nil {
			t.Fatal(err)
		}
		recs := make([]pipeline.Record, perPartition)
		for i := range recs {
			recs[i] = pipeline.Record{Partition: part, Position: pipeline.Position{Offset: int64(i)}, Time: t0,
				Value: []byte(`{"ts" "2026-11-21T13:00:00Z"}`)}
		}
		if err := f.Send(ctx, pipeline.Batch{Partition: part, Records: recs}); err != nil {
			t.Fatal(err)
		}
	}
	// Every record taken by its runner, then Close drains the dead-letter writer.
	deadline := time.Now().Add(time.Minute)
	for rt.Stats().Records < parts*perPartition {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records processed after a minute", rt.Stats().Records, parts*perPartition)
		}
		time.Sleep(time.Millisecond)
	}
	if err := rt.Close(ctx); err != nil {
		t.Fatal(err)
	}

	objects := 0
	err = filepath.WalkDir(filepath.Join(dir, "kind=deadletter"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if strings.HasPrefix(d.Name(), ".tmp-") {
				t.Errorf("temporary file left behind: %s", path)
			}
			objects++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	filetest.Lines(t, filepath.Join(dir, "kind=deadletter"), func(line []byte) {
		var l struct{ Partition, Position, Reason string }
		if err := json.Unmarshal(line, &l); err != nil {
			t.Fatal(err)
		}
		if l.Reason != "decode" {
			t.Errorf("letter %s/%s: reason %q, want decode", l.Partition, l.Position, l.Reason)
		}
		seen[l.Partition+"/"+l.Position]++
	})
	if len(seen) != parts*perPartition {
		t.Errorf("%d distinct letters written, want %d", len(seen), parts*perPartition)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("letter %s written %d times", k, n)
		}
	}
	t.Logf("%d dead letters over %d partitions: %d objects", parts*perPartition, parts, objects)
	if objects > 2 {
		t.Errorf("%d dead letters over %d partitions took %d objects, want 1 (2 at most)", parts*perPartition, parts, objects)
	}
}
