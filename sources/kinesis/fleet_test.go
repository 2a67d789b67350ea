package kinesis_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/internal/moto"
	"github.com/weirstream/weir/sources/kinesis"
)

// background writes rounds of records (one per key) until stopped.
type background struct {
	stop chan struct{}
	wg   sync.WaitGroup
	err  error
}

func (p *producer) background(t *testing.T, every time.Duration) *background {
	b := &background{stop: make(chan struct{})}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for {
			select {
			case <-b.stop:
				return
			case <-time.After(every):
			}
			if err := p.putRound(t.Logf); err != nil {
				b.err = err
				return
			}
		}
	}()
	return b
}

func (b *background) halt(t *testing.T) {
	t.Helper()
	close(b.stop)
	b.wg.Wait()
	if b.err != nil {
		t.Fatal(b.err)
	}
}

func balanced(ws []*worker, shards, lo, hi int) func() bool {
	return func() bool {
		n := 0
		for _, w := range ws {
			h := len(w.src.Held())
			if h < lo || h > hi {
				return false
			}
			n += h
		}
		return n == shards
	}
}

// waitCheckpointed waits until every shard's checkpoint in table is its last record, with the
// producer stopped: every record read by the lease's owner now and durable, and so every
// record read again before it (a lease taken over re-reads from its checkpoint, and those
// copies become durable only with the partials of the new owner's windows, which may be after
// every record was durable once). Counts taken after it do not grow any more.
func (e *env) waitCheckpointed(t *testing.T, stream, table string, ws ...*worker) {
	t.Helper()
	last := e.lastSequence(t, stream)
	var next time.Time
	waitUntil(t, 90*time.Second, "every shard checkpointed at its last record", func() bool {
		if time.Now().Before(next) {
			return false
		}
		next = time.Now().Add(500 * time.Millisecond) // a Scan of moto's one-at-a-time table
		rows, err := e.leaseRows(context.Background(), table)
		if err != nil {
			return false
		}
		for shard, seq := range last {
			if rows[shard].Checkpoint != seq {
				return false
			}
		}
		return true
	}, ws...)
}

// Three workers on one stream of 8 shards, while records are written: the leases balance to
// 3/3/2; a worker killed without a clean shutdown loses its shards to the others after the
// lease expires and nothing is lost (only what it had not checkpointed is read again); a
// worker stopped cleanly hands its shards over with no record read twice.
//
// A lease the table was too slow to renew within LeaseDuration is given up and read again
// from its checkpoint (slowserver_test.go): such a loss is logged, and its shard's re-reads are
// not the clean stop's. A loss with the table answering within the budget fails the test, as
// does a record read twice in a shard whose lease was not lost.
func TestFleetBalanceKillAndCleanHandover(t *testing.T) {
	srv := moto.Start(t)
	e := newEnv(t, srv.Endpoint(), srv.Endpoint())
	lat := &latencies{next: e.ddbCfg.HTTPClient}
	e = e.withDynamoDB(lat)
	const stream, table, shards = "fleet", "leases-fleet", 8
	// Checkpoints once a second, not five times: moto serves the lease table one request at a
	// time, and eight leases checkpointed every 200 ms were most of its load (40 of some 50
	// writes a second), enough for a loaded machine to make it miss every lease's renewals at
	// once, over and over (slowserver_test.go). A clean stop writes its final checkpoint
	// whatever the interval.
	timing := func(c *kinesis.Config) { c.CheckpointInterval = time.Second }
	cfg := testConfig(stream, table, "")
	timing(&cfg)
	e.createStream(t, stream, shards)
	shardOf := e.shardOfKey(t, stream)
	p := newProducer(e, stream, 32)
	st := newStore()
	bg := p.background(t, 20*time.Millisecond)
	logsA, logsB, logsC := &logBuffer{}, &logBuffer{}, &logBuffer{}
	a := e.startWorker(t, stream, st, workerOpts{id: "a", logs: logsA, cfg: timing})
	b := e.startWorker(t, stream, st, workerOpts{id: "b", logs: logsB, cfg: timing})
	c := e.startWorker(t, stream, st, workerOpts{id: "c", logs: logsC, cfg: timing})
	all := []*worker{a, b, c}
	start := time.Now()
	waitUntil(t, 90*time.Second, "leases balanced 3/3/2", balanced(all, shards, 2, 3), all...)
	t.Logf("balanced after %v: a %d, b %d, c %d", time.Since(start).Round(time.Millisecond),
		len(a.src.Held()), len(b.src.Held()), len(c.src.Held()))
	// Let c checkpoint some of its shards, so the kill proves resumption from checkpoints.
	waitUntil(t, 90*time.Second, "records durable", func() bool { return st.Distinct() > 2000 }, all...)

	held := len(c.src.Held())
	c.Crash(t)
	killed := time.Now()
	waitUntil(t, 60*time.Second, "the killed worker's shards taken over", balanced([]*worker{a, b}, shards, 4, 4), a, b)
	t.Logf("kill: %d shards moved %v after the kill (lease duration %v)", held, time.Since(killed).Round(time.Millisecond),
		cfg.LeaseDuration)
	bg.halt(t)
	waitUntil(t, 60*time.Second, "every record durable after the kill", func() bool { return st.Distinct() == p.total() }, a, b)
	// Losses from here on are the clean stop's part of the test: before it, re-reads settle.
	mark := time.Now()
	e.waitCheckpointed(t, stream, table, a, b)
	missing, dupsKill := st.Check(p.ids())
	t.Logf("kill: %d records written, missing %d, read twice %d (what the killed worker had not checkpointed)",
		p.total(), missing, dupsKill)
	if missing != 0 {
		t.Fatalf("%d records lost after the kill", missing)
	}
	before := dupsByShard(st.Counts(), p.ids(), shardOf)
	released := metrictest.Sum(t, b.Reg, "weir_kinesis_lease_events_total", map[string]string{"event": "released"})

	bg = p.background(t, 20*time.Millisecond)
	time.Sleep(time.Second)
	b.Stop(t)
	waitUntil(t, 60*time.Second, "b's shards taken over", balanced([]*worker{a}, shards, shards, shards), a)
	bg.halt(t)
	waitUntil(t, 60*time.Second, "every record durable after the clean stop", func() bool { return st.Distinct() == p.total() }, a)
	e.waitCheckpointed(t, stream, table, a)
	a.Stop(t)
	missing, dups := st.Check(p.ids())
	t.Logf("clean handover: %d records written, missing %d, read twice %d", p.total(), missing, dups-dupsKill)
	if missing != 0 {
		t.Errorf("after the clean stop: %d records lost", missing)
	}
	var ls []loss
	read := map[string]float64{}
	for _, l := range losses(t, logsA, logsB) {
		read[l.how]++
		if !l.at.Before(mark) {
			ls = append(ls, l)
		}
	}
	for _, ev := range []string{"lost", "taken_expired"} {
		n := 0.0
		for _, w := range []*worker{a, b} {
			n += metrictest.Sum(t, w.Reg, "weir_kinesis_lease_events_total", map[string]string{"event": ev})
		}
		if read[ev] != n { // the log lines the losses are read from are not the source's any more
			t.Errorf("%v %s log lines read, %v lease events counted", read[ev], ev, n)
		}
	}
	slow, unexplained := explained(ls, lat, cfg.LeaseDuration, cfg.RenewInterval)
	if len(slow) > 0 {
		t.Logf("leases the table was too slow to renew (read again from their checkpoints):%s", describe(slow))
	}
	if len(unexplained) > 0 {
		t.Errorf("leases lost while the table answered within the write budget:%s", describe(unexplained))
	}
	for shard, n := range newDups(before, dupsByShard(st.Counts(), p.ids(), shardOf)) {
		if !shardsOf(slow)[shard] {
			t.Errorf("after the clean stop: %d records of %s read twice (want 0: its lease was not lost)", n, shard)
		}
	}
	if got := metrictest.Sum(t, b.Reg, "weir_kinesis_lease_events_total", map[string]string{"event": "released"}) - released; got == 0 {
		t.Errorf("b released no lease at its clean stop: no handover was checked")
	}
	if st.DeadLetters() != 0 {
		t.Errorf("%d dead letters", st.DeadLetters())
	}
}
