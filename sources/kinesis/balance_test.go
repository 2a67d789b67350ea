package kinesis_test

import (
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/internal/moto"
)

// Workers joining one by one even the leases out, as the KCL does: 4 shards on one worker,
// then on two (2/2: a worker is never left at 3/1 because the other is "within one of the
// mean"), then on three (2/1/1); once there, no lease moves any more. Every move is a
// handoff, so nothing is read twice.
func TestFleetEvensOutAndSettles(t *testing.T) {
	srv := moto.Start(t)
	e := newEnv(t, srv.Endpoint(), srv.Endpoint())
	const stream, shards = "even", 4
	e.createStream(t, stream, shards)
	p := newProducer(e, stream, 16)
	st := newStore()
	bg := p.background(t, 50*time.Millisecond)
	a := e.startWorker(t, stream, st, workerOpts{id: "a"})
	waitUntil(t, 30*time.Second, "a holding every lease", balanced([]*worker{a}, shards, shards, shards), a)
	b := e.startWorker(t, stream, st, workerOpts{id: "b"})
	start := time.Now()
	waitUntil(t, 60*time.Second, "a and b at 2/2", balanced([]*worker{a, b}, shards, 2, 2), a, b)
	t.Logf("2/2 %v after b started", time.Since(start).Round(time.Millisecond))
	c := e.startWorker(t, stream, st, workerOpts{id: "c"})
	start = time.Now()
	all := []*worker{a, b, c}
	waitUntil(t, 60*time.Second, "a, b and c at 2/1/1", balanced(all, shards, 1, 2), all...)
	t.Logf("2/1/1 %v after c started: a %d, b %d, c %d", time.Since(start).Round(time.Millisecond),
		len(a.src.Held()), len(b.src.Held()), len(c.src.Held()))

	asked := func() float64 {
		var n float64
		for _, w := range all {
			n += metrictest.Sum(t, w.Reg, "weir_kinesis_lease_events_total", map[string]string{"event": "handoff_requested"})
		}
		return n
	}
	// A handoff asked for just before the last move may still be under way; then nothing.
	time.Sleep(3 * time.Second)
	before := asked()
	time.Sleep(5 * time.Second) // ten renew intervals, five take rounds' worth of damping
	if after := asked(); after != before || !balanced(all, shards, 1, 2)() {
		t.Errorf("leases still moving once even: %v handoffs asked for in 5s; a %d, b %d, c %d",
			after-before, len(a.src.Held()), len(b.src.Held()), len(c.src.Held()))
	}
	bg.halt(t)
	waitUntil(t, 60*time.Second, "every record durable", func() bool { return st.Distinct() == p.total() }, all...)
	for _, w := range all {
		w.Stop(t)
	}
	missing, dups := st.Check(p.ids())
	t.Logf("%d records, %v handoffs asked for; missing %d, read twice %d", p.total(), asked(), missing, dups)
	if missing != 0 || dups != 0 {
		t.Errorf("missing %d, read twice %d (a handoff reads nothing twice)", missing, dups)
	}
}

// The worker a lease was handed to names the worker that handed it over: the handover writes
// the new owner into the row, so the row alone would name the taker itself.
func TestHandoffNamesThePreviousOwner(t *testing.T) {
	srv := moto.Start(t)
	e := newEnv(t, srv.Endpoint(), srv.Endpoint())
	const stream, shards = "handoff-log", 2
	e.createStream(t, stream, shards)
	st := newStore()
	a := e.startWorker(t, stream, st, workerOpts{id: "w1"})
	waitUntil(t, 30*time.Second, "w1 holding both leases", balanced([]*worker{a}, shards, shards, shards), a)
	logs := &logBuffer{}
	b := e.startWorker(t, stream, st, workerOpts{id: "w2", logs: logs})
	waitUntil(t, 60*time.Second, "one lease handed to w2", balanced([]*worker{a, b}, shards, 1, 1), a, b)
	b.Stop(t)
	a.Stop(t)
	var taken []string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `msg="lease taken"`) {
			taken = append(taken, line)
		}
	}
	if len(taken) != 1 || !strings.Contains(taken[0], "event=taken_handoff") || !strings.Contains(taken[0], "previous_owner=w1") {
		t.Errorf("w2's lease-taken lines, want one handed over by w1:\n%s", strings.Join(taken, "\n"))
	}
	if got := metrictest.Sum(t, b.Reg, "weir_kinesis_lease_events_total", map[string]string{"event": "taken_handoff"}); got != 1 {
		t.Errorf("taken_handoff events %v, want 1", got)
	}
}
