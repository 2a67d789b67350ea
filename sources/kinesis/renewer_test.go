package kinesis_test

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/internal/moto"
	"github.com/weirstream/weir/pipeline"
)

// slowScans holds the answer of every lease table Scan, while on, until its caller gives up:
// the server has read the table, the worker hears nothing for as long as it waits (a take
// round and a shard sync wait up to lease_duration each). Every other call (UpdateItem:
// renewals, checkpoints) is answered at once.
type slowScans struct {
	next aws.HTTPClient
	on   atomic.Bool
	held atomic.Int64
}

func (s *slowScans) Do(req *http.Request) (*http.Response, error) {
	if !s.on.Load() || req.Header.Get("X-Amz-Target") != "DynamoDB_20120810.Scan" {
		return s.next.Do(req)
	}
	resp, err := s.next.Do(req)
	if err != nil {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	s.held.Add(1)
	<-req.Context().Done()
	return nil, req.Context().Err()
}

// counterGaps watches the lease table from outside, as another worker would, and keeps the
// longest time each row's counter stood still.
type counterGaps struct {
	mu      sync.Mutex
	longest map[string]time.Duration
	stop    chan struct{}
	done    chan struct{}
}

func (e *env) watchCounters(t *testing.T, table string, every time.Duration) *counterGaps {
	g := &counterGaps{longest: map[string]time.Duration{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(g.done)
		type seen struct {
			counter int64
			since   time.Time
		}
		last := map[string]seen{}
		for {
			select {
			case <-g.stop:
				return
			case <-time.After(every):
			}
			rows, err := e.scan(table)
			if err != nil {
				continue
			}
			now := time.Now()
			g.mu.Lock()
			for k, r := range rows {
				l, ok := last[k]
				if !ok || l.counter != r.Counter {
					last[k] = seen{r.Counter, now}
					continue
				}
				g.longest[k] = max(g.longest[k], now.Sub(l.since))
			}
			g.mu.Unlock()
		}
	}()
	return g
}

func (g *counterGaps) halt() map[string]time.Duration {
	close(g.stop)
	<-g.done
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.longest
}

// Lease renewals do not wait for the lease table's scans. A worker whose scans (take rounds,
// shard syncs) each take the whole lease_duration, while its writes are answered at once, goes
// on renewing its shard lease and the aggregator's row every renew_interval (its checkpoints are
// withheld meanwhile, so none moves a counter in their place): a second worker
// watching the table never sees either counter stand still for lease_duration, takes nothing
// and never runs the aggregator, and the first loses nothing. When renewals waited behind the
// scans, a renewal came every take round plus shard sync (about twice lease_duration), the
// second worker took both rows as expired, and the first lost them while healthy.
func TestRenewalsDoNotWaitForSlowScans(t *testing.T) {
	srv := moto.Start(t)
	e := newEnv(t, srv.Endpoint(), srv.Endpoint())
	const stream, table = "slowscan", "leases-slowscan"
	e.createStream(t, stream, 1)
	p := newProducer(e, stream, 4)
	p.put(t, 5)
	st := newStore()
	slow := &slowScans{next: e.ddbCfg.HTTPClient}
	var aLed, bLed atomic.Int64 // terms begun
	var aLost atomic.Int64      // terms ended
	// While the scans are slow, a's commit points are withheld: no checkpoint write moves its
	// lease's counter in the renewals' place (an idle shard's event-time state still moves).
	a := e.withDynamoDB(slow).startWorker(t, stream, st, workerOpts{id: "a", leader: func(held bool, _ int64) {
		if held {
			aLed.Add(1)
		} else {
			aLost.Add(1)
		}
	}, withhold: func(pipeline.Partition) bool { return slow.on.Load() }})
	waitUntil(t, 30*time.Second, "a holding the shard and the aggregator's row, every record durable and checkpointed", func() bool {
		rows, err := e.scan(table) // the table may not exist yet
		return err == nil && len(a.src.Held()) == 1 && aLed.Load() == 1 && st.Distinct() == p.total() &&
			rows["shardId-000000000000"].Checkpoint != "TRIM_HORIZON"
	}, a)
	slow.on.Store(true)
	ld := testConfig(stream, table, "").LeaseDuration
	gaps := e.watchCounters(t, table, 100*time.Millisecond)
	watched := time.Now()
	b := e.startWorker(t, stream, st, workerOpts{id: "b", leader: func(held bool, _ int64) {
		if held {
			bLed.Add(1)
		}
	}})
	// Four lease durations: time for b to see a's counters stand still, had they.
	waitUntil(t, 10*ld, "four lease durations with scans held", func() bool { return slow.held.Load() >= 4 && time.Since(watched) > 4*ld })
	longest := gaps.halt()
	lostA := metrictest.Sum(t, a.Reg, "weir_kinesis_lease_events_total", map[string]string{"event": "lost"})
	takenB := metrictest.Sum(t, b.Reg, "weir_kinesis_lease_events_total", map[string]string{"event": "taken_expired"})
	termsLost, termsB := aLost.Load(), bLed.Load()
	slow.on.Store(false)
	p.put(t, 5)
	waitUntil(t, 30*time.Second, "every record durable", func() bool { return st.Distinct() == p.total() }, a, b)
	t.Logf("scans held for lease_duration: %d; longest a counter stood still: %v (lease_duration %v); a lost %v leases, %d terms; b took %v expired, ran the aggregator %d times",
		slow.held.Load(), longest, ld, lostA, termsLost, takenB, termsB)
	a.Stop(t)
	b.Stop(t)
	if slow.held.Load() < 4 {
		t.Errorf("only %d scans held: the slow scans never mattered, the test proves nothing", slow.held.Load())
	}
	for k, d := range longest {
		if d >= ld {
			t.Errorf("%s: counter stood still for %v, lease_duration %v: renewals waited", k, d, ld)
		}
	}
	if lostA != 0 || takenB != 0 || termsLost != 0 || termsB != 0 {
		t.Errorf("a lost %v leases and %d aggregator terms, b took %v as expired and ran the aggregator %d times; want all 0",
			lostA, termsLost, takenB, termsB)
	}
	missing, _ := st.Check(p.ids())
	if missing != 0 {
		t.Errorf("%d records missing", missing)
	}
}

// scan reads the lease table's rows (leases() without failing the test, for a goroutine).
func (e *env) scan(table string) (map[string]leaseRow, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return e.leaseRows(ctx, table)
}
