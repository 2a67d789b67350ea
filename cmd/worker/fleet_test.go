package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/aggregator"
	"github.com/weirstream/weir/internal/workerproc"
	"github.com/weirstream/weir/sinks/file/filetest"
)

// fleetProc is one worker process of a test fleet.
type fleetProc struct {
	*workerproc.Proc
	name, emf, addr string
}

func startFleetProc(t *testing.T, bin, name, dir string, brokers []string) *fleetProc {
	t.Helper()
	p := &fleetProc{name: name, emf: filepath.Join(dir, name+".emf"), addr: workerproc.FreeAddr(t)}
	p.Proc = workerproc.Start(t, bin, dir, []string{"HOME=/nonexistent",
		"WEIR_SOURCE_KIND=kafka", "WEIR_SOURCE_KAFKA_BROKERS=" + strings.Join(brokers, ","),
		"WEIR_SOURCE_KAFKA_TOPICS=events", "WEIR_SOURCE_KAFKA_GROUP=fleet",
		"WEIR_SOURCE_KAFKA_SESSION_TIMEOUT=5s", "WEIR_SOURCE_KAFKA_REBALANCE_TIMEOUT=8s",
		"WEIR_SOURCE_KAFKA_REVOKE_TIMEOUT=2s", "WEIR_SOURCE_KAFKA_REVOKE_COMMIT_TIMEOUT=1s",
		"WEIR_WINDOW_PERIOD=2s", "WEIR_WINDOW_TIME_FIELD=$.ts", "WEIR_WINDOW_ALLOWED_LATENESS=500ms",
		"WEIR_WINDOW_IDLE_TIMEOUT=1s", "WEIR_AGGREGATOR_GRACE=8s",
		"WEIR_SINKS_FILE_DIR=" + dir, "WEIR_SINKS_CLOUDWATCH_EMF_PATH=" + p.emf,
		"WEIR_HTTP_ADDR=" + p.addr, "WEIR_SUMMARY=off", "WEIR_LOG_FORMAT=json", "WEIR_SHUTDOWN_TIMEOUT=15s"})
	return p
}

// leader asks the process's /metrics whether it serves the fleet's aggregator now.
func (p *fleetProc) leader() bool {
	resp, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return regexp.MustCompile(`(?m)^weir_aggregator_leader 1$`).Match(b)
}

// liveProducer writes records stamped with the wall clock to every partition until stopped,
// and tallies what the broker acknowledged per (partition, window start). A record is the
// document doc makes of its time and sequence number (nil: {"ts":…,"i":…}).
type liveProducer struct {
	mu    sync.Mutex
	tally map[string]map[string]int64 // window (RFC 3339) → partition → records
	// slowest is the longest a record took from its stamp to the broker's acknowledgement: a
	// producer starved by a loaded host delivers records after their stamp, which no worker can
	// help (chaos counts such records delivered_late).
	slowest time.Duration
	stop    chan struct{}
	done    chan struct{}
}

func produceLive(t *testing.T, brokers []string, parts int32, period time.Duration, doc func(now time.Time, i int) []byte) *liveProducer {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	lp := &liveProducer{tally: map[string]map[string]int64{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(lp.done)
		defer cl.Close()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-lp.stop:
				return
			case <-tick.C:
			}
			for p := range parts {
				now := time.Now().UTC()
				var v []byte
				if doc != nil {
					v = doc(now, i)
				} else {
					v = fmt.Appendf(nil, `{"ts":%q,"i":%d}`, now.Format(time.RFC3339Nano), i)
				}
				r := &kgo.Record{Topic: "events", Partition: p, Value: v}
				if err := cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
					t.Error(err)
					return
				}
				w := now.Truncate(period).Format(time.RFC3339)
				took := time.Since(now)
				lp.mu.Lock()
				lp.slowest = max(lp.slowest, took)
				if lp.tally[w] == nil {
					lp.tally[w] = map[string]int64{}
				}
				lp.tally[w][fmt.Sprint(p)]++
				lp.mu.Unlock()
			}
		}
	}()
	return lp
}

func (lp *liveProducer) finish() map[string]map[string]int64 {
	close(lp.stop)
	<-lp.done
	lp.mu.Lock()
	defer lp.mu.Unlock()
	return lp.tally
}

// The worker holding the aggregator's seat is killed (SIGKILL) in the middle of a window, in a
// fleet of worker processes sharing a directory while records are produced: the window is
// reported, and its metrics published, once; and every window counts every record once.
func TestKillTheAggregatorMidWindow(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a fleet of processes for ~40s")
	}
	bin := workerproc.Build(t, ".")
	const parts, period = 4, 2 * time.Second
	// The broker runs in the test's process (not startBroker's): it is never the one killed,
	// and it must accept the workers' short session timeout (5s, so that the survivor takes the
	// killed worker's partitions within the test).
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(parts, "events"),
		kfake.GroupMinSessionTimeout(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dir := workerproc.Writable(t)
	lp := produceLive(t, c.ListenAddrs(), parts, period, nil)
	a := startFleetProc(t, bin, "a", dir, c.ListenAddrs())
	b := startFleetProc(t, bin, "b", dir, c.ListenAddrs())
	// Wait for the fleet to report a window, then find the seat's holder.
	fleetSummaries := func() map[string]int {
		out := map[string]int{}
		filetest.Lines(t, filepath.Join(dir, "kind=summary", "operator=fleet"), func(line []byte) {
			var s aggregator.Summary
			if json.Unmarshal(line, &s) == nil {
				out[s.WindowStart]++
			}
		})
		return out
	}
	deadline := time.Now().Add(60 * time.Second)
	var victim, survivor *fleetProc
	for victim == nil {
		if time.Now().After(deadline) {
			t.Fatal("no worker held the aggregator's seat with a window reported after 60s")
		}
		time.Sleep(100 * time.Millisecond)
		if len(fleetSummaries()) == 0 {
			continue
		}
		for _, p := range []*fleetProc{a, b} {
			if p.leader() {
				victim = p
			}
		}
	}
	survivor = a
	if victim == a {
		survivor = b
	}
	// Mid-window: half a period into the current one.
	now := time.Now()
	time.Sleep(now.Truncate(period).Add(period + period/2).Sub(now))
	killedIn := time.Now().UTC().Truncate(period).Format(time.RFC3339)
	victim.Kill(t)
	t.Logf("killed %s, the aggregator, in window %s", victim.name, killedIn)
	time.Sleep(4 * period) // the survivor takes over: the partitions, the seat
	if !survivor.leader() {
		t.Errorf("%s does not hold the seat after %s was killed", survivor.name, victim.name)
	}
	tally := lp.finish()
	// Every window with records is reported with exact counts, once the windows close (the
	// partitions are quiet now).
	deadline = time.Now().Add(60 * time.Second)
	var counted map[string]map[string]int64
	for {
		counted = filetest.ThroughputRecords(t, dir)
		same := true
		for w, ps := range tally {
			for p, n := range ps {
				same = same && counted[w][p] == n
			}
		}
		if same || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	survivor.Stop(t, 30*time.Second)
	var lost, dup int64
	for w, ps := range tally {
		for p, n := range ps {
			switch got := counted[w][p]; {
			case got < n:
				lost += n - got
			case got > n:
				dup += got - n
			}
		}
	}
	if lost != 0 || dup != 0 {
		t.Errorf("%d records lost, %d counted twice, of the produced windows %v (counted %v)", lost, dup, tally, counted)
	}
	for w, n := range fleetSummaries() {
		if n != 1 {
			t.Errorf("window %s has %d fleet summaries", w, n)
		}
	}
	// Each window's metrics went out once at most (a crash between a publish claim and the
	// publish loses them, never sends them twice), and the window the aggregator died in
	// exactly once: the next aggregator published it.
	published := map[int64]int{}
	for _, f := range []string{a.emf, b.emf} {
		data, _ := os.ReadFile(f)
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				continue
			}
			aws, _ := line["_aws"].(map[string]any)
			if _, ok := line["Records"]; ok && aws != nil && line["Partition"] == nil && line["Stream"] != nil {
				published[int64(aws["Timestamp"].(float64))]++
			}
		}
	}
	for ts, n := range published {
		if n > 1 {
			t.Errorf("window %v published %d times", time.UnixMilli(ts).UTC(), n)
		}
	}
	ki, _ := time.Parse(time.RFC3339, killedIn)
	if published[ki.UnixMilli()] != 1 {
		t.Errorf("the window the aggregator died in (%s) was published %d times, want once", killedIn, published[ki.UnixMilli()])
	}
	t.Logf("%d windows produced, %d published; no record lost or counted twice", len(tally), len(published))
}
