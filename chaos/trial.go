package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/weirstream/weir/internal/moto"
)

// trial is one run: a fresh stream (a broker, or kinesalite and moto), a fleet, a producer, a schedule of events drawn from seed,
// then the drain and the count.
type trial struct {
	o        options
	seed     uint64
	self     string // this harness's binary: the broker and producer roles
	dir      string
	progress io.Writer
}

// trialResult is what a trial did and found.
type trialResult struct {
	Seed    uint64        `json:"seed"`
	Dir     string        `json:"dir,omitempty"` // kept for a failed trial (or -keep)
	Started time.Time     `json:"started"`
	Took    time.Duration `json:"took"`
	// Records is what the broker acknowledged, undecodable records included.
	Records int64 `json:"records"`
	// Unanswered is producer calls without an answer where the stream itself is counted
	// (Kinesis): the count stays exact.
	Unanswered int64          `json:"unanswered,omitempty"`
	Kills      int            `json:"kills"`
	Terms      int            `json:"terms"`
	Starts     int            `json:"starts"`
	Freezes    int            `json:"freezes"` // SIGSTOP ... SIGCONT, short and long
	Evictions  int            `json:"evictions"`
	Events     []*eventRecord `json:"events"`
	Account    account        `json:"account"`
	attribution
	OwnerChanges    []ownerChange `json:"owner_changes"`
	SummaryObjects  int           `json:"summary_objects"`
	Drain           drainResult   `json:"drain"`
	TermErrors      int           `json:"term_errors"` // SIGTERMed workers that exited with an error
	Escalated       int           `json:"escalated"`   // SIGTERMed workers SIGKILLed after their shutdown timeout
	UnexpectedExits []string      `json:"unexpected_exits,omitempty"`
	Failures        []string      `json:"failures,omitempty"`
}

// drainResult is how the wait for the group to commit every record went.
type drainResult struct {
	Took time.Duration `json:"took"`
	Done bool          `json:"done"`
	// Behind lists the partitions not fully committed when the wait gave up:
	// "p: committed/end".
	Behind []string `json:"behind,omitempty"`
}

// run runs the trial. An error means the harness could not run it (a process did not start);
// what the trial found, failures included, is in the result.
func (tr *trial) run(ctx context.Context) (*trialResult, error) {
	o := tr.o
	res := &trialResult{Seed: tr.seed, Started: time.Now()}
	say := func(format string, args ...any) {
		fmt.Fprintf(tr.progress, "chaos: seed %d: "+format+"\n", append([]any{tr.seed}, args...)...)
	}
	var err error
	var srv *moto.Server // the AWS services the trial needs: S3 for the output, DynamoDB for leases
	if o.Output == "s3" || o.Source == "kinesis" {
		if srv, err = moto.StartProcess(); err != nil {
			return nil, err
		}
		defer srv.Stop()
	}
	out, err := tr.newOutput(ctx, srv)
	if err != nil {
		return nil, err
	}
	b, err := tr.newBed(ctx, srv)
	if err != nil {
		return nil, err
	}
	defer b.close()
	cfgPath := filepath.Join(tr.dir, "worker.yaml")
	if err := writeWorkerConfig(cfgPath, o, b, out); err != nil {
		return nil, err
	}
	fl, err := newFleet(o.Weir, cfgPath, tr.dir, b.idVar(), workerEnv(), o.ShutdownTimeout+termGrace)
	if err != nil {
		return nil, err
	}
	defer fl.killAll()

	own := newOwnership(int32(o.Partitions))
	watchCtx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() { own.watch(watchCtx, b); close(watched) }()
	defer func() { stopWatch(); <-watched }()

	for s := 1; s <= o.Workers; s++ {
		if _, err := fl.start(s); err != nil {
			return nil, err
		}
	}
	if err := waitFor(ctx, time.Minute, own.complete); err != nil {
		return nil, fmt.Errorf("the fleet never owned every partition: %w (logs in %s)", err, fl.logDir)
	}
	say("fleet of %d owns the %d partitions of the %s, writing to the %s; producing %v at %d records/s",
		o.Workers, o.Partitions, b.describe(), out.describe(), o.Produce, o.Rate)

	prod, err := tr.startProducer(ctx, b)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()

	// Background work an event leaves behind (an eviction due later, a drain to wait for) ends
	// with the trial: bgCtx is cancelled before the fleet stops.
	bgCtx, stopBg := context.WithCancel(ctx)
	var bg sync.WaitGroup
	defer func() { stopBg(); bg.Wait() }()
	ev := &eventRunner{o: o, fl: fl, b: b, own: own, rng: rand.New(rand.NewPCG(tr.seed, tr.seed^0x73706c74)), bgCtx: bgCtx, bg: &bg, say: say}

	sched := newSchedule(tr.seed, scheduleConfig{Workers: o.Workers, First: o.First, Last: o.Produce - o.MinGap/2,
		MinGap: o.MinGap, MaxGap: o.MaxGap})
	sched = withSplits(sched, o)
	sched = withMerges(sched, o)
	sched = withFreezes(sched, tr.seed, o)
	for _, e := range sched {
		if err := sleep(ctx, time.Until(t0.Add(e.At))); err != nil {
			return nil, err
		}
		res.Events = append(res.Events, ev.apply(ctx, e, false))
	}

	acked, err := prod.wait()
	if err != nil {
		return nil, err
	}
	t, err := b.produced(ctx, acked)
	if err != nil {
		return nil, err
	}
	res.Records, res.Unanswered = t.records(), t.Unanswered
	say("producer done: %d records in the stream (%d undecodable), %d acknowledged, %d failed",
		res.Records, res.Records-t.Cells.total(), acked.records(), acked.Failed)

	// Let the fleet drain: every worker of the fleet up, the extra one gone.
	for s := 1; s <= o.Workers+1; s++ {
		switch running := fl.current(s) != nil; {
		case s <= o.Workers && !running:
			res.Events = append(res.Events, ev.apply(ctx, event{At: time.Since(t0), Action: actStart, Slot: s}, true))
		case s > o.Workers && running:
			rec := ev.apply(ctx, event{At: time.Since(t0), Action: actTerm, Slot: s}, true)
			res.Events = append(res.Events, rec)
		}
	}
	res.Drain = drain(ctx, b, t, o.DrainTimeout)
	say("drain: done=%v in %v %s", res.Drain.Done, res.Drain.Took, strings.Join(res.Drain.Behind, " "))

	stopBg()
	bg.Wait()
	final := &eventRecord{event: event{At: time.Since(t0), Action: actTerm}, Time: time.Now(), Worker: "all", Final: true}
	for _, r := range fl.stopAll() {
		if r.Escalated || r.ExitErr != "" {
			final.Term = &r
		}
		res.note(r)
	}
	res.Events = append(res.Events, final)
	res.UnexpectedExits = fl.unexpectedExits()
	stopWatch()
	<-watched
	res.OwnerChanges = own.history()

	c, err := countOutputs(ctx, out, trialTopic)
	if err != nil {
		return nil, fmt.Errorf("reading the outputs: %w", err)
	}
	res.SummaryObjects = c.Objects
	res.Account = settle(t, c, o.Window)
	res.attribution = attribute(res.Events, res.OwnerChanges, t, c, res.Account.excused)
	timeHandovers(res.Events, res.OwnerChanges)
	for _, e := range res.Events {
		switch {
		case e.Skipped != "" || e.Final:
		case e.Action == actKill:
			res.Kills++
		case e.Action == actTerm:
			res.Terms++
		case e.Action == actStart:
			res.Starts++
		case e.Action == actFreeze:
			res.Freezes++
		}
		res.Evictions += e.Evicted
		if e.Term != nil && !e.Final {
			res.note(*e.Term)
		}
	}
	res.judge(o, t)
	res.Took = time.Since(res.Started).Round(time.Second)
	return res, nil
}

// note counts a SIGTERM that did not end well.
func (r *trialResult) note(t termResult) {
	if t.Escalated {
		r.Escalated++
	} else if t.ExitErr != "" {
		r.TermErrors++
	}
}

// judge fills Failures.
func (r *trialResult) judge(o options, t *tally) {
	fail := func(format string, args ...any) { r.Failures = append(r.Failures, fmt.Sprintf(format, args...)) }
	a := r.Account
	if lost := a.lost(); o.MaxLost >= 0 && lost > o.MaxLost {
		fail("%d records lost: %d on time missing from %d cells, %d broken records without a dead letter, "+
			"%d missing from the summaries' dead-letter counts; at most %d allowed",
			lost, a.Lost, a.LostCells, a.Letters.Missing, a.Undecodable.Lost, o.MaxLost)
	}
	if dup := a.duplicated(); o.MaxDuplicated >= 0 && dup > o.MaxDuplicated {
		fail("%d records duplicated: %d on time in %d cells, %d dead letters counted twice in the summaries; at most %d allowed",
			dup, a.Duplicated, a.DupCells, a.Undecodable.Duplicated, o.MaxDuplicated)
	}
	if a.Letters.Unexpected > 0 {
		fail("%d records dead-lettered as undecodable that the producer did not break", a.Letters.Unexpected)
	}
	if !r.Drain.Done {
		fail("the group did not commit every record within %v: %s", o.DrainTimeout, strings.Join(r.Drain.Behind, " "))
	}
	if t.Failed > 0 {
		fail("the broker refused %d records: they may or may not be in the stream, so the count is not exact", t.Failed)
	}
	for _, u := range r.UnexpectedExits {
		fail("%s", u)
	}
	if a.Produced == 0 || r.Kills == 0 {
		fail("the trial produced %d records and killed %d workers: it tested nothing", a.Produced, r.Kills)
	}
}

// eventRunner applies events to the fleet.
type eventRunner struct {
	o     options
	fl    *fleet
	b     bed
	own   *ownership
	bgCtx context.Context
	bg    *sync.WaitGroup
	say   func(string, ...any)
	rng   *rand.Rand // draws the shards to split
}

// apply does e now and returns its record. A kill schedules the eviction of the member it left
// behind; a SIGTERM leaves a goroutine waiting for the drain; a start waits first for a drain
// of the same slot still in progress.
func (r *eventRunner) apply(ctx context.Context, e event, final bool) *eventRecord {
	rec := &eventRecord{event: e, Final: final}
	switch e.Action {
	case actKill, actTerm, actFreeze:
		p := r.fl.current(e.Slot)
		if p == nil {
			rec.Time, rec.Skipped = time.Now(), fmt.Sprintf("worker %d is not running", e.Slot)
			break
		}
		rec.Worker, rec.Owned = p.clientID, r.own.owned(p.clientID)
		rec.Time = time.Now()
		switch e.Action {
		case actKill:
			_, _ = r.fl.kill(e.Slot)
			r.later(func(ctx context.Context) { rec.Evicted = r.evictLater(ctx, rec.Worker) })
		case actTerm:
			_, _ = r.fl.term(e.Slot)
			r.later(func(ctx context.Context) {
				t := r.fl.waitTerm(p, rec.Time)
				rec.Term = &t
				if t.Escalated { // SIGKILLed in the end: it left no more than a kill does
					rec.Evicted = r.evictLater(ctx, rec.Worker)
				}
			})
		case actFreeze:
			r.fl.freeze(p)
			rec.Detail = fmt.Sprintf("for %v", e.For.Round(100*time.Millisecond))
			// The freeze ends after For, or sooner with the trial (bgCtx): never is a worker
			// left stopped. A kill meanwhile ends it too (SIGKILL acts on a stopped process);
			// a SIGTERM thaws first (fleet.term).
			r.later(func(ctx context.Context) {
				_ = sleep(ctx, e.For)
				r.fl.thaw(p)
			})
		}
	case actSplit, actMerge:
		rec.Time = time.Now()
		rs, ok := r.b.(resharder)
		if !ok {
			rec.Skipped = "the source cannot reshard"
			break
		}
		reshard := rs.split
		if e.Action == actMerge {
			reshard = rs.merge
		}
		detail, err := reshard(ctx, r.rng)
		if err != nil {
			rec.Skipped = err.Error()
		}
		rec.Detail = detail
	case actStart:
		if prev := r.fl.last(e.Slot); prev != nil && prev.sent() == syscall.SIGTERM && !prev.exited() {
			r.fl.waitTerm(prev, time.Now())
		}
		rec.Time = time.Now()
		p, err := r.fl.start(e.Slot)
		if err != nil {
			rec.Skipped = err.Error()
			break
		}
		rec.Worker = p.clientID
	}
	what := string(e.Action)
	if final {
		what = "final " + what
	}
	r.say("+%v %s worker %d %s owned %v %s%s", e.At.Round(100*time.Millisecond), what, e.Slot, rec.Worker, rec.Owned, rec.Detail, rec.Skipped)
	return rec
}

// evictLater waits until a killed worker's session would have expired on a real broker, then
// removes its members the broker still lists, and returns how many it removed.
func (r *eventRunner) evictLater(ctx context.Context, id string) int {
	if err := sleep(ctx, r.o.SessionTimeout+time.Second); err != nil {
		return 0
	}
	n, err := r.b.evict(ctx, id)
	if err != nil {
		r.say("evicting %s: %v", id, err)
	}
	if n > 0 {
		r.say("evicted %s from the group: the broker still listed it %v after it was killed", id, r.o.SessionTimeout+time.Second)
	}
	return n
}

// later runs fn in the background until the trial ends.
func (r *eventRunner) later(fn func(context.Context)) {
	r.bg.Add(1)
	go func() {
		defer r.bg.Done()
		fn(r.bgCtx)
	}()
}

// drain waits until the fleet has committed every record of t.
func drain(ctx context.Context, b bed, t *tally, timeout time.Duration) drainResult {
	start := time.Now()
	var behind []string
	done := func() bool {
		var err error
		if behind, err = b.behind(ctx, t); err != nil {
			behind = []string{err.Error()}
			return false
		}
		return len(behind) == 0
	}
	err := waitFor(ctx, timeout, done)
	return drainResult{Took: time.Since(start).Round(100 * time.Millisecond), Done: err == nil, Behind: behind}
}

// waitFor polls cond every 250 ms until it holds or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for !cond() {
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return fmt.Errorf("not within %v", timeout)
		}
	}
	return nil
}

// newOutput makes the trial's output: a directory in the trial's, or a bucket on the trial's
// moto server.
func (tr *trial) newOutput(ctx context.Context, srv *moto.Server) (output, error) {
	if tr.o.Output == "s3" {
		return newS3Output(ctx, srv)
	}
	return newDirOutput(filepath.Join(tr.dir, "out"))
}

// newBed makes the trial's stream: a topic on a broker of its own, or a stream on kinesalite
// with the lease table on the trial's moto server.
func (tr *trial) newBed(ctx context.Context, srv *moto.Server) (bed, error) {
	if tr.o.Source == "kinesis" {
		return newKinesisBed(ctx, tr.o, srv)
	}
	return newKafkaBed(ctx, tr.o, tr.self, tr.dir)
}

// producerProc is the running producer process.
type producerProc struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	log    string
}

// startProducer starts the harness's binary in the producer role.
func (tr *trial) startProducer(ctx context.Context, b bed) (*producerProc, error) {
	o := tr.o
	plan := producePlan{Window: o.Window, Lateness: allowedLateness, Seed: tr.seed, traffic: o.traffic}
	b.connect(&plan)
	raw, err := json.Marshal(plan)
	if err != nil {
		return nil, err
	}
	p := &producerProc{log: filepath.Join(tr.dir, "producer.log")}
	logf, err := os.Create(p.log)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	p.cmd = exec.CommandContext(ctx, tr.self, "-role", "producer", "-plan", string(raw))
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, logf
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the producer: %w", err)
	}
	return p, nil
}

// wait waits for the producer to finish and returns its tally.
func (p *producerProc) wait() (*tally, error) {
	if err := p.cmd.Wait(); err != nil {
		return nil, fmt.Errorf("producer: %w (log %s)", err, p.log)
	}
	t := newTally()
	if err := json.Unmarshal(p.stdout.Bytes(), t); err != nil {
		return nil, fmt.Errorf("reading the producer's tally: %w", err)
	}
	return t, nil
}

// workerEnv is the workers' environment: the harness's own without any WEIR_ variable, so
// that a setting in the caller's shell cannot change the trial (the configuration file and
// the per-worker variables say everything).
func workerEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WEIR_") {
			env = append(env, kv)
		}
	}
	return env
}
