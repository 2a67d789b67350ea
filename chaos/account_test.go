package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir/internal/moto"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/throughput"
	"github.com/weirstream/weir/sinks/file"
	s3sink "github.com/weirstream/weir/sinks/s3"
)

// summaries writes window reports the way a worker does (the throughput operator's state,
// emitted, written by a sink), one object per owner: records and decode dead letters per
// partition.
type summaries struct {
	t    *testing.T
	sink interface {
		pipeline.Sink
		pipeline.DeadLetterSink
	}
}

// outputsUnderTest are the outputs a trial can use, each with the sink its workers write with.
func outputsUnderTest(t *testing.T) map[string]func() (output, *summaries) {
	return map[string]func() (output, *summaries){
		"dir":       func() (output, *summaries) { return dirUnderTest(t, false) },
		"dir, gzip": func() (output, *summaries) { return dirUnderTest(t, true) },
		"s3": func() (output, *summaries) {
			o, err := newS3Output(context.Background(), moto.Start(t))
			if err != nil {
				t.Fatal(err)
			}
			cfg := s3sink.Config{Bucket: s3Bucket, Prefix: s3Prefix}
			cfg.ApplyDefaults()
			sink, err := s3sink.New(o.client, cfg, prometheus.NewRegistry(), nil)
			if err != nil {
				t.Fatal(err)
			}
			return o, &summaries{t: t, sink: sink}
		},
	}
}

func dirUnderTest(t *testing.T, gzip bool) (output, *summaries) {
	dir := t.TempDir()
	sink, err := file.New(file.Config{Dir: dir, Gzip: gzip})
	if err != nil {
		t.Fatal(err)
	}
	// A write a kill interrupted before its rename is not an object.
	tmp := filepath.Join(dir, "kind=summary", "operator=throughput", ".tmp-123")
	if err := os.MkdirAll(filepath.Dir(tmp), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tmp, []byte("{half"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := newDirOutput(dir)
	if err != nil {
		t.Fatal(err)
	}
	return out, &summaries{t: t, sink: sink}
}

// write emits window start's counts, by partition, as owner.
func (s *summaries) write(stream string, start time.Time, owner string, records, decode map[string]int64) {
	op := throughput.New()
	var st *throughput.State
	for _, p := range []string{"0", "1", "2", "3"} {
		if records[p] == 0 && decode[p] == 0 {
			continue
		}
		ps := op.NewState(pipeline.Partition{Stream: stream, ID: p}).(*throughput.State)
		ps.Parts[0].Records = records[p]
		ps.CountDrops("decode", true, decode[p])
		if st == nil {
			st = ps
		} else if err := st.Merge(ps); err != nil {
			s.t.Fatal(err)
		}
	}
	w := pipeline.WindowOf(start, 10*time.Second)
	out := &pipeline.Output{Window: w, Owner: owner}
	st.Emit(w, out)
	if err := s.sink.Write(context.Background(), out); err != nil {
		s.t.Fatal(err)
	}
}

// letters writes one dead-letter object of records at the positions given.
func (s *summaries) letters(stream, partition string, positions ...int64) {
	s.lettersOf("decode", time.Now(), stream, partition, positions...)
}

// lettersOf writes one dead-letter object of records of event time at, dead-lettered for
// reason.
func (s *summaries) lettersOf(reason string, at time.Time, stream, partition string, positions ...int64) {
	var ls []pipeline.DeadLetter
	for _, pos := range positions {
		ls = append(ls, pipeline.DeadLetter{Partition: pipeline.Partition{Stream: stream, ID: partition},
			Position: pipeline.Position{Offset: pos}, Time: at, Reason: reason, Value: []byte("{")})
	}
	if err := s.sink.WriteDeadLetters(context.Background(), ls); err != nil {
		s.t.Fatal(err)
	}
}

// The harness reads what the file sink writes, sums every object of a window, and settles
// cell by cell: a window counted by two owners is a duplicate, a missing partition a loss, and
// neither cancels the other out in another cell; dead letters are compared per partition, in
// the summaries' counts and in the dead-letter objects by position.
func TestCountAndSettle(t *testing.T) {
	for name, open := range outputsUnderTest(t) {
		out, s := open()
		w0 := time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC)
		w1 := w0.Add(10 * time.Second)
		// w0: partitions 0 and 1 by one owner; partition 1 again by another (a replay): 5
		// duplicated. w1: partition 0 short by 3, partition 2 counted in full.
		s.write(trialTopic, w0, "a", map[string]int64{"0": 10, "1": 5}, map[string]int64{"0": 1})
		s.write(trialTopic, w0, "b", map[string]int64{"1": 5}, nil)
		s.write(trialTopic, w1, "c", map[string]int64{"0": 7, "2": 4}, map[string]int64{"2": 2})
		// Another topic's reports are not counted.
		s.write("other", w1, "d", map[string]int64{"0": 1000}, nil)
		// Dead letters: partition 0's one record, partition 2's records at 5 and 6 (and 6 again
		// in a second object, as a replay writes it); partition 2's third never came.
		s.letters(trialTopic, "0", 3)
		s.letters(trialTopic, "2", 5, 6)
		s.letters(trialTopic, "2", 6)
		s.letters("other", "2", 7)

		c, err := countOutputs(context.Background(), out, trialTopic)
		if err != nil {
			t.Fatal(err)
		}
		if c.Objects != 4 {
			t.Errorf("%s: %d summary objects, want 4", name, c.Objects)
		}
		tl := newTally()
		tl.Cells[cell{0, w0.Unix()}] = 10
		tl.Cells[cell{1, w0.Unix()}] = 5
		tl.Cells[cell{0, w1.Unix()}] = 10
		tl.Cells[cell{2, w1.Unix()}] = 4
		tl.Undecodable[0] = 1
		tl.Undecodable[2] = 3
		a := settle(tl, c, 10*time.Second)
		want := account{Produced: 29, Counted: 31, Lost: 3, Duplicated: 5, Cells: 4, LostCells: 1, DupCells: 1,
			Undecodable: undecodableAccount{Produced: 4, Counted: 3, Lost: 1}}
		if a.Produced != want.Produced || a.Counted != want.Counted || a.Lost != want.Lost ||
			a.Duplicated != want.Duplicated || a.Cells != want.Cells || a.LostCells != want.LostCells ||
			a.DupCells != want.DupCells || a.Undecodable != want.Undecodable {
			t.Errorf("%s: settled %+v\nwant %+v", name, a, want)
		}
		if a.DeadLetters["decode"] != 3 {
			t.Errorf("%s: dead letters %v, want decode 3", name, a.DeadLetters)
		}
		if la := a.Letters; la.Lines["decode"] != 4 || la.Missing != 1 || la.Repeated != 1 || la.Unexpected != 0 {
			t.Errorf("%s: dead-letter objects %+v, want 4 lines, 1 missing, 1 repeated", name, la)
		}
		if a.lost() != 3+1+1 || a.duplicated() != 5 {
			t.Errorf("%s: lost %d, duplicated %d; want 5 and 5", name, a.lost(), a.duplicated())
		}
		if len(a.Worst) != 2 || a.Worst[0].Partition != 1 || a.Worst[0].Counted != 10 {
			t.Errorf("%s: worst cells %+v, want partition 1's surplus of 5 first", name, a.Worst)
		}
	}
}

// A record the producer stamped and then delivered after its window's end + the allowed
// lateness (a producer process stalled for seconds on a loaded machine: seed 5 of make chaos
// lost 15 records stamped in one tick just before such a stall, dead-lettered as late on five
// partitions) is one the workers rightly dead-letter as late (pipeline/eventtime.go, rule 5):
// not lost, as long as a late dead letter holds it. Every other missing record still is.
func TestDeliveredLateIsNotLost(t *testing.T) {
	out, s := dirUnderTest(t, false)
	w0 := time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC)
	w1 := w0.Add(10 * time.Second)
	// w0, partition 0: 10 produced, 7 counted, 3 late dead letters, 2 of the 10 delivered late:
	// 2 excused, 1 lost. Partition 1: 5 produced, 4 counted, 1 late letter, none delivered
	// late: 1 lost. w1, partition 0: 4 produced, 2 counted, 2 delivered late but no letter:
	// 2 lost.
	s.write(trialTopic, w0, "a", map[string]int64{"0": 7, "1": 4}, nil)
	s.write(trialTopic, w1, "a", map[string]int64{"0": 2}, nil)
	s.lettersOf("late", w0.Add(9*time.Second), trialTopic, "0", 11, 12, 13)
	s.lettersOf("late", w0.Add(9*time.Second), trialTopic, "1", 21)
	c, err := countOutputs(context.Background(), out, trialTopic)
	if err != nil {
		t.Fatal(err)
	}
	tl := newTally()
	tl.Cells[cell{0, w0.Unix()}] = 10
	tl.Cells[cell{1, w0.Unix()}] = 5
	tl.Cells[cell{0, w1.Unix()}] = 4
	tl.DeliveredLate[cell{0, w0.Unix()}] = 2
	tl.DeliveredLate[cell{0, w1.Unix()}] = 2
	a := settle(tl, c, 10*time.Second)
	if a.Lost != 4 || a.DeliveredLate != 2 || a.LostCells != 3 {
		t.Errorf("lost %d in %d cells, delivered late %d; want 4 lost in 3 cells, 2 delivered late",
			a.Lost, a.LostCells, a.DeliveredLate)
	}
	if r := attribute(nil, nil, tl, c, a.excused); r.UnattributedLost != 4 {
		t.Errorf("attributed %d lost records, want 4 (the 2 delivered late are not)", r.UnattributedLost)
	}
}

// A cell's difference goes to its partition's first change of owner at or after the window's
// start; a change goes to the event that stopped its previous owner, else to the latest event
// before it.
func TestAttribute(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	kill := &eventRecord{event: event{Action: actKill, Slot: 1}, Time: at(12), Worker: "w1"}
	start := &eventRecord{event: event{Action: actStart, Slot: 4}, Time: at(30), Worker: "w4"}
	term := &eventRecord{event: event{Action: actTerm, Slot: 2}, Time: at(31), Worker: "w2"}
	evs := []*eventRecord{kill, start, term}
	changes := []ownerChange{
		{At: at(0), Partition: 0, To: "w1"}, // the first assignment: no event
		{At: at(0), Partition: 1, To: "w2"},
		{At: at(25), Partition: 0, From: "w1", To: "w2"}, // after the kill and its session
		{At: at(33), Partition: 1, From: "w2", To: "w4"}, // the SIGTERM, not the later start
		{At: at(34), Partition: 0, From: "w2", To: "w4"}, // its owner since 25 s was SIGTERMed at 31 s
	}
	tl, c := newTally(), &counted{Cells: cellCounts{}}
	set := func(p int32, w int, produced, counted int64) {
		tl.Cells[cell{p, at(w).Unix()}] = produced
		c.Cells[cell{p, at(w).Unix()}] = counted
	}
	set(0, 10, 100, 130) // window at 10 s: partition 0 changed hands at 25 s: the kill
	set(0, 30, 100, 90)  // window at 30 s: partition 0's next change is at 34 s: the term
	set(1, 20, 100, 107) // partition 1 changed at 33 s: the term
	set(1, 40, 100, 101) // no change after 40 s: unattributed
	r := attribute(evs, changes, tl, c, nil)
	if kill.Duplicated != 30 || kill.Lost != 0 {
		t.Errorf("kill: duplicated %d lost %d, want 30 and 0", kill.Duplicated, kill.Lost)
	}
	if term.Duplicated != 7 || term.Lost != 10 {
		t.Errorf("term: duplicated %d lost %d, want 7 and 10", term.Duplicated, term.Lost)
	}
	if start.Duplicated != 0 || start.Lost != 0 {
		t.Errorf("start: duplicated %d lost %d, want nothing", start.Duplicated, start.Lost)
	}
	if r.UnattributedDuplicated != 1 || r.UnattributedLost != 0 {
		t.Errorf("unattributed %+v, want 1 duplicated", r)
	}
	if len(kill.Moved) != 1 || kill.Moved[0] != 0 || len(term.Moved) != 2 {
		t.Errorf("moved: kill %v, term %v; want [0] and [0 1]", kill.Moved, term.Moved)
	}
}

// An incarnation frozen and later killed: the changes of owner after the kill are the kill's,
// not the earlier freeze's (the latest event that stopped the previous owner).
func TestAttributeFreezeThenKill(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 22, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	freeze := &eventRecord{event: event{Action: actFreeze, Slot: 1, For: 2 * time.Second}, Time: at(5), Worker: "w1"}
	kill := &eventRecord{event: event{Action: actKill, Slot: 1}, Time: at(20), Worker: "w1"}
	changes := []ownerChange{
		{At: at(0), Partition: 0, To: "w1"},
		{At: at(36), Partition: 0, From: "w1", To: "w2"}, // the kill's session expired
	}
	tl, c := newTally(), &counted{Cells: cellCounts{}}
	tl.Cells[cell{0, at(30).Unix()}], c.Cells[cell{0, at(30).Unix()}] = 100, 104
	attribute([]*eventRecord{freeze, kill}, changes, tl, c, nil)
	if kill.Duplicated != 4 || freeze.Duplicated != 0 || len(freeze.Moved) != 0 {
		t.Errorf("kill: duplicated %d; freeze: duplicated %d, moved %v; want 4, 0, none", kill.Duplicated, freeze.Duplicated, freeze.Moved)
	}
}
