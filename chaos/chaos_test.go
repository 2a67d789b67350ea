package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// maxDuplicated is what the short trial allows to be counted twice: nothing. Every partition
// writes one partial per window, keyed by window and partition, and a partition replayed after
// a kill rewrites the same partial from the same records (its checkpoint carries the
// event-time state), so the fleet's aggregator counts each record once.
const maxDuplicated = 0

// TestMain lets a trial start this test binary in the harness's broker and producer roles
// ("<binary> -role broker"), as the chaos command starts itself.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "-role" {
		if err := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
			os.Stderr.WriteString("chaos: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The short chaos trial: kfake in its own process, three real worker processes and a fourth
// coming and going, kill -9, SIGTERM, restarts and two freezes (SIGSTOP, one short, one past
// the session) while a producer writes for 45 s; then every
// record is counted per (partition, window). No record may be lost; every record broken on
// purpose must be a dead letter.
func TestChaosShort(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the worker and runs a fleet for about a minute")
	}
	shortTrial(t, shortOptions())
}

// The same trial on Kinesis: a stream of 8 shards on kinesalite, the lease table on moto, one
// shard split and two adjacent shards merged while records flow (the children's windows must
// be counted too, and a merged child read only once both parents ended).
func TestChaosShortKinesis(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the worker and runs a fleet for about a minute")
	}
	o := shortOptions()
	o.Source, o.Splits, o.Merges = "kinesis", 1, 1
	r := shortTrial(t, o)
	split, merged := false, false
	for _, e := range r.Events {
		split = split || (e.Action == actSplit && e.Skipped == "")
		merged = merged || (e.Action == actMerge && e.Skipped == "")
	}
	if !split || !merged {
		t.Errorf("the trial split a shard: %v, merged two: %v; want both", split, merged)
	}
}

// keptOnFailure is a work directory for a trial that outlives a failed test: the trial's
// workers' logs, the stream's read-back and the outputs are what a failure (one seen once
// under load, say) can be diagnosed from, and t.TempDir would delete them with the test.
func keptOnFailure(t *testing.T) string {
	dir, err := os.MkdirTemp("", "weir-chaos-"+strings.ReplaceAll(t.Name(), "/", "_")+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the trial's files are kept in %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	return dir
}

// shortTrial runs one trial of o, asserts what every short trial must hold, and returns it.
func shortTrial(t *testing.T, o options) *trialResult {
	o.MaxDuplicated = maxDuplicated
	o.Work, o.Out = keptOnFailure(t), ""
	o.Weir = filepath.Join(o.Work, "weir")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	if err := buildWeir(ctx, o.Weir); err != nil {
		t.Fatal(err)
	}
	args := []string{"-short", "-source", o.Source}
	if o.Splits > 0 {
		args = append(args, "-splits", strconv.Itoa(o.Splits))
	}
	if o.Merges > 0 {
		args = append(args, "-merges", strconv.Itoa(o.Merges))
	}
	s, err := runTrials(ctx, o, os.Args[0], replayCommand(args), testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + s.markdown())
	r := s.Trials[0]
	for _, f := range r.Failures {
		t.Errorf("seed %d: %s", r.Seed, f)
	}
	kinds := map[string]bool{}
	for _, e := range r.Events {
		if e.Skipped == "" && !e.Final {
			kinds[causeName(e, o.Workers)] = true
		}
	}
	for _, k := range []string{"kill -9", "SIGTERM", "restart", "extra worker starts", "short freeze", "long freeze"} {
		if !kinds[k] {
			t.Errorf("the trial had no %s: it tests less than it says (events %v)", k, kinds)
		}
	}
	if !kinds["kill -9 (extra worker)"] && !kinds["SIGTERM (extra worker)"] {
		t.Errorf("the extra worker never stopped (events %v)", kinds)
	}
	if r.Account.Undecodable.Produced == 0 || r.Account.Cells < 4*o.Partitions {
		t.Errorf("%d undecodable records over %d cells: too little traffic to test the count", r.Account.Undecodable.Produced, r.Account.Cells)
	}
	return r
}

// testLog writes the harness's progress lines to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
