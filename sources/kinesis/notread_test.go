package kinesis_test

import (
	"math"
	"testing"
	"time"

	"github.com/weirstream/weir/internal/moto"
	"github.com/weirstream/weir/lag"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/sources/kinesis"
)

// A shard held but not read yet (its first GetRecords not answered) is not caught up: a worker
// that takes over a shard with a backlog must not report it 0 ms behind until the first read
// answers, or a scale-in or a lag alarm reads that false zero. Its lag is unknown, through
// Lag, MillisBehind and the lag tracker alike, and known once the first read answers.
func TestShardNotReadYetIsNotCaughtUp(t *testing.T) {
	srv := moto.Start(t)
	e := newEnv(t, srv.Endpoint(), srv.Endpoint())
	const stream = "notread"
	e.createStream(t, stream, 1)
	p := newProducer(e, stream, 4)
	p.put(t, 10)
	f := newHangGetRecords(true) // the first read, and every other, held until end
	t.Cleanup(f.end)             // the worker's stop must not wait on the gate
	wrap := kinesis.WithStreamAPI(func(k kinesis.StreamAPI) kinesis.StreamAPI { f.StreamAPI = k; return f })
	tr, err := lag.NewTracker(lag.DefaultConfig(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sampler *kinesis.LagSampler
	st := newStore()
	w := e.startWorker(t, stream, st, workerOpts{id: "a", opts: []kinesis.Option{wrap},
		built: func(s *kinesis.Source) { sampler = s.NewLagSampler(tr, nil) }})
	stopped := false
	defer func() {
		if !stopped {
			w.Stop(t)
		}
	}()
	waitUntil(t, 30*time.Second, "the shard's lease taken", func() bool { return len(w.src.Held()) == 1 }, w)
	part := pipeline.Partition{Stream: stream, ID: w.src.Held()[0]}

	// Tracked from the lease's take, before any sampling round: counted, its lag unknown.
	if tot := tr.Snapshot(time.Now()).Total; tot.Partitions != 1 || tot.Unknown != 1 {
		t.Errorf("the tracker's total %+v once the lease is taken: want the shard, its lag unknown", tot)
	}
	seconds := func() float64 {
		sampler.Sample()
		rep := tr.Snapshot(time.Now())
		if len(rep.Partitions) != 1 {
			t.Fatalf("%d partitions tracked, want the held shard", len(rep.Partitions))
		}
		return rep.Partitions[0].Seconds
	}

	if d, known := w.src.Lag(); known {
		t.Errorf("Lag %v, known, before the shard's first read answered: read as caught up", d)
	}
	if ms, at, ok := w.src.MillisBehind(part); ok {
		t.Errorf("MillisBehind %d ms at %v, ok before the shard's first read answered: want no reading", ms, at)
	}
	if s := seconds(); !math.IsNaN(s) {
		t.Errorf("the tracker's time lag %vs before the shard's first read answered: want unknown (NaN)", s)
	}

	f.end()
	waitUntil(t, 30*time.Second, "the shard's first read answered", func() bool {
		_, _, ok := w.src.MillisBehind(part)
		return ok
	}, w)
	if s := seconds(); math.IsNaN(s) || s < 0 {
		t.Errorf("the tracker's time lag %vs after the first read: want a reading", s)
	}
	if d, known := w.src.Lag(); !known || d < 0 {
		t.Errorf("Lag %v, known %v, after the first read: want a reading", d, known)
	}
	// The samples carry the lease's processed position: the records handed over show as a rate.
	waitUntil(t, 30*time.Second, "the backlog's records in the tracker's rate", func() bool {
		sampler.Sample()
		return tr.Snapshot(time.Now()).Partitions[0].Rate > 0
	}, w)

	// Released at the stop: no longer tracked, without waiting for a sampling round.
	w.Stop(t)
	stopped = true
	if rep := tr.Snapshot(time.Now()); len(rep.Partitions) != 0 {
		t.Errorf("the released shard is still tracked: %+v", rep.Partitions)
	}
}
