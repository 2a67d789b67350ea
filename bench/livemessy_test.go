package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestMain lets a test start this test binary as the bench's broker process (startBroker runs
// "<binary> -role broker"), so the end-to-end tests talk to kfake in a process of its own, as
// the bench does.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "-role" {
		if err := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The live-messy scenario end to end, small: kfake in its own process, the worker as the bench
// assembles it, and a producer with quiet spells longer than the idle timeout between bursts
// stamped with its clock, 5% out of order within the lateness, 1% undecodable and 0.5% late.
// Every count must agree exactly with what was produced, by reason and by window. Before event
// time followed each partition's own records, the bursts after a quiet spell were dead-lettered
// as late.
//
// The fates hold as long as no record takes longer than the lateness minus OutOfOrderBy (3 s)
// from its stamp to the worker. That is a margin against the machine, not a timeout: a
// partition that has read everything and then nothing for the idle timeout is quiet, and its
// watermark follows the wall clock (pipeline/eventtime.go, rule 5), so a record that a stall
// of the producer, the broker or the worker held back longer than that is late, as it would be
// on a real stream. With 2 s of lateness and 1 s out of order (a 1 s margin) the test failed
// at load averages near 20 with on-time records counted late; the longest stall the test's
// own process saw is logged, and named in a failure.
func TestLiveMessyEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker process and runs for ~20 s")
	}
	stalls := watchStalls()
	defer stalls.stop()
	b, err := startBroker(os.Args[0], "")
	if err != nil {
		t.Fatal(err)
	}
	defer b.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const topic = "events-live-messy"
	if err := createTopic(ctx, b.addrs, topic); err != nil {
		t.Fatal(err)
	}
	plan := messyPlan{Bursts: 4, PerBurst: 4000, Quiet: 3 * time.Second, Window: time.Second,
		Lateness: 4 * time.Second, OutOfOrder: 0.05, OutOfOrderBy: time.Second, Undecodable: 0.01, Late: 0.005, Seed: 9}
	rules, err := filepath.Glob("../examples/rules/*.json")
	if err != nil {
		t.Fatal(err)
	}
	sp := messySpec(spec{Brokers: b.addrs, Format: "json", Rules: rules, BudgetBytes: 8 << 20}, topic, plan)
	sp.IdleTimeout = 300 * time.Millisecond // under the 3 s of quiet
	sp.Dir = t.TempDir()

	out, w := io.Pipe()
	childErr := make(chan error, 1)
	go func() {
		childErr <- runChild(ctx, sp, w, io.Discard)
		w.Close()
	}()
	sc := bufio.NewScanner(out)
	sc.Buffer(nil, 64<<20)
	if !sc.Scan() || sc.Text() != readyLine {
		t.Fatalf("the worker did not report ready: %q, %v", sc.Text(), <-childErr)
	}
	produced, err := produceMessy(ctx, b.addrs, topic, plan, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var last []byte
	for sc.Scan() {
		last = append(last[:0], sc.Bytes()...)
	}
	if err := <-childErr; err != nil {
		t.Fatal(err)
	}
	var r result
	if err := json.Unmarshal(last, &r); err != nil {
		t.Fatalf("%v in %q", err, last)
	}
	m := r.Messy
	m.Plan, m.Produced = plan, produced
	m.compare()
	for _, mm := range m.Mismatches {
		t.Error(mm)
	}
	longest := stalls.stop()
	if len(m.Mismatches) > 0 {
		t.Errorf("this process stalled for up to %v (the fates hold for stalls under %v)", longest, plan.Lateness-plan.OutOfOrderBy)
	}
	if produced.OutOfOrder == 0 || produced.Undecodable == 0 || produced.Late == 0 || len(produced.Windows) < 4 {
		t.Errorf("produced %+v: every kind of record, over several windows, or the test tests little", produced)
	}
	t.Logf("longest stall of this process: %v", longest)
	t.Logf("produced %d in order, %d out of order, %d undecodable, %d late over %d windows; counted %d on time, %d decode, %d late",
		produced.InOrder, produced.OutOfOrder, produced.Undecodable, produced.Late, len(produced.Windows),
		m.Counted.InOrder, m.Counted.Undecodable, m.Counted.Late)
}

// stallWatch measures how late a goroutine that sleeps 10 ms at a time wakes up: the longest
// time the process was kept from running, by the machine or its own collector.
type stallWatch struct {
	done    chan struct{}
	longest chan time.Duration
}

func watchStalls() *stallWatch {
	w := &stallWatch{done: make(chan struct{}), longest: make(chan time.Duration, 1)}
	go func() {
		var longest time.Duration
		const tick = 10 * time.Millisecond
		for {
			before := time.Now()
			select {
			case <-w.done:
				w.longest <- longest
				return
			case <-time.After(tick):
			}
			longest = max(longest, time.Since(before)-tick)
		}
	}()
	return w
}

// stop ends the watch and returns the longest stall; later calls return 0.
func (w *stallWatch) stop() time.Duration {
	select {
	case <-w.done:
		return 0
	default:
	}
	close(w.done)
	return <-w.longest
}
