package kinesis_test

import (
	"sync"
	"testing"
	"time"

	"github.com/weirstream/weir/internal/moto"
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

// Three workers on one stream of 8 shards, while records are written: the leases balance to
// 3/3/2; a worker killed without a clean shutdown loses its shards to the others after the
// lease expires and nothing is lost (only what it had not checkpointed is read again); a
// worker stopped cleanly hands its shards over with no record read twice.
func TestFleetBalanceKillAndCleanHandover(t *testing.T) {
	srv := moto.Start(t)
	e := newEnv(t, srv.Endpoint(), srv.Endpoint())
	const stream, shards = "fleet", 8
	e.createStream(t, stream, shards)
	p := newProducer(e, stream, 32)
	st := newStore()
	bg := p.background(t, 20*time.Millisecond)
	a := e.startWorker(t, stream, st, workerOpts{id: "a"})
	b := e.startWorker(t, stream, st, workerOpts{id: "b"})
	c := e.startWorker(t, stream, st, workerOpts{id: "c"})
	all := []*worker{a, b, c}
	start := time.Now()
	waitUntil(t, 90*time.Second, "leases balanced 3/3/2", balanced(all, shards, 2, 3), all...)
	t.Logf("balanced after %v: a %d, b %d, c %d", time.Since(start).Round(time.Millisecond),
		len(a.src.Held()), len(b.src.Held()), len(c.src.Held()))
	// Let c checkpoint some of its shards, so the kill proves resumption from checkpoints.
	waitUntil(t, 30*time.Second, "records durable", func() bool { return st.Distinct() > 2000 }, all...)

	held := len(c.src.Held())
	c.Crash(t)
	killed := time.Now()
	waitUntil(t, 60*time.Second, "the killed worker's shards taken over", balanced([]*worker{a, b}, shards, 4, 4), a, b)
	t.Logf("kill: %d shards moved %v after the kill (lease duration %v)", held, time.Since(killed).Round(time.Millisecond),
		testConfig(stream, "", "").LeaseDuration)
	bg.halt(t)
	waitUntil(t, 60*time.Second, "every record durable after the kill", func() bool { return st.Distinct() == p.total() }, a, b)
	missing, dupsKill := st.Check(p.ids())
	t.Logf("kill: %d records written, missing %d, read twice %d (what the killed worker had not checkpointed)",
		p.total(), missing, dupsKill)
	if missing != 0 {
		t.Fatalf("%d records lost after the kill", missing)
	}

	bg = p.background(t, 20*time.Millisecond)
	time.Sleep(time.Second)
	b.Stop(t)
	waitUntil(t, 60*time.Second, "b's shards taken over", balanced([]*worker{a}, shards, shards, shards), a)
	bg.halt(t)
	waitUntil(t, 60*time.Second, "every record durable after the clean stop", func() bool { return st.Distinct() == p.total() }, a)
	a.Stop(t)
	missing, dups := st.Check(p.ids())
	t.Logf("clean handover: %d records written, missing %d, read twice %d", p.total(), missing, dups-dupsKill)
	if missing != 0 || dups != dupsKill {
		t.Errorf("after the clean stop: missing %d, read twice %d (want 0)", missing, dups-dupsKill)
	}
	if st.DeadLetters() != 0 {
		t.Errorf("%d dead letters", st.DeadLetters())
	}
}
