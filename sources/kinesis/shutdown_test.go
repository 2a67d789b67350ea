package kinesis_test

import (
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/internal/moto"
)

// A handover under way when the worker is told to stop ends by the shutdown deadline. Here it
// cannot finish at all: the partial store stalls, so the shard it hands over never drains
// (drain_timeout is 30 s). Before, Run waited for the handover (up to drain_timeout and then
// lease_duration for its write) and the shutdown took that long, past any stop timeout. Now
// the stop returns within its deadline plus a moment: the handover is abandoned, counted, the
// lease left to expire with the checkpoint of what was durable; the worker that asked takes it
// once expired and re-reads from there: every record arrives, those re-read are counted.
func TestHandoverUnderWayAtShutdownEndsByTheDeadline(t *testing.T) {
	srv := moto.Start(t)
	e := newEnv(t, srv.Endpoint(), srv.Endpoint())
	const stream, shards = "handover-stop", 2
	e.createStream(t, stream, shards)
	p := newProducer(e, stream, 8)
	p.put(t, 5)
	st := newStore()
	folds := newFoldLog()
	logsA := &logBuffer{}
	a := e.startWorker(t, stream, st, workerOpts{id: "a", log: folds, logs: logsA})
	waitUntil(t, 30*time.Second, "a holding both leases, every record durable", func() bool {
		return len(a.src.Held()) == shards && st.Distinct() == p.total()
	}, a)
	// From here no partial becomes durable: a's handover cannot drain.
	st.Stall(true)
	p.put(t, 5)
	waitUntil(t, 30*time.Second, "both shards' next windows closed and waiting on the store", func() bool {
		return st.Waiting() >= shards
	}, a)
	b := e.startWorker(t, stream, st, workerOpts{id: "b", log: folds})
	waitUntil(t, 60*time.Second, "a handing a lease over to b", func() bool {
		return strings.Contains(logsA.String(), `msg="handing a lease over"`)
	}, a, b)
	const deadline = 3 * time.Second
	start := time.Now()
	rtErr, err := a.StopByDeadline(t, deadline)
	took := time.Since(start)
	abandoned := metrictest.Sum(t, a.Reg, "weir_kinesis_lease_events_total", map[string]string{"event": "handover_abandoned"})
	handed := metrictest.Sum(t, a.Reg, "weir_kinesis_lease_events_total", map[string]string{"event": "handed_over"})
	t.Logf("stop with a handover under way took %v (deadline %v): %v abandoned, %v handed over; runtime close: %v; source close: %v",
		took.Round(time.Millisecond), deadline, abandoned, handed, rtErr, err)
	if took > deadline+time.Second {
		t.Errorf("the stop took %v, deadline %v: the handover held it", took, deadline)
	}
	if abandoned != 1 || handed != 0 {
		t.Errorf("handovers abandoned %v, handed over %v; want 1, 0", abandoned, handed)
	}
	// b takes both leases once they expired (a's stop had no time left to release them) and
	// reads on from their checkpoints.
	st.Stall(false)
	p.put(t, 2)
	waitUntil(t, 60*time.Second, "b holding both leases, every record durable", func() bool {
		return len(b.src.Held()) == shards && st.Distinct() == p.total()
	}, b)
	b.Stop(t)
	missing, dups := st.Check(p.ids())
	folded, reread := 0, 0
	folds.mu.Lock()
	for _, idx := range folds.order {
		seen := map[int]bool{}
		for _, i := range idx {
			folded++
			if seen[i] {
				reread++
			}
			seen[i] = true
		}
	}
	folds.mu.Unlock()
	t.Logf("%d records, %d folded, %d re-read after the abandoned handover; missing %d, counted twice %d", p.total(), folded, reread, missing, dups)
	if missing != 0 {
		t.Errorf("%d records missing", missing)
	}
	if reread == 0 {
		t.Error("nothing re-read: the abandoned handover left nothing undurable, the test proves nothing")
	}
}
