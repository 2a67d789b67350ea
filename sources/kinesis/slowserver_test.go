package kinesis_test

import (
	"context"
	"crypto/md5"
	"log/slog"
	"math/big"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// A lease whose writes the table does not answer within their budget for LeaseDuration is
// given up by its owner and taken as expired by the others: that is the documented outcome,
// not a defect, and its records after the last checkpoint are read again. On a loaded two-core
// machine moto (one Python process, serving DynamoDB one request at a time) was that slow:
// every lease write of every worker timed out for several seconds at once, and a fleet test
// counted the re-reads as duplicates of a clean handover. The tests below tell such losses
// from the defects they look for with latencies: the table as the workers' requests met it,
// measured under any fault a test injects, and the losses each worker logged.

// latencies forwards DynamoDB requests to the server and records when each was sent and when
// the server answered it: how slow the table was, whatever a front above it does with the
// answers.
type latencies struct {
	next aws.HTTPClient
	mu   sync.Mutex
	reqs []span
}

// span is one request: when it was sent and when it ended (answered, or given up by the
// client: its deadline, a reset connection); zero while it waits.
type span struct{ sent, ended time.Time }

func (l *latencies) Do(req *http.Request) (*http.Response, error) {
	l.mu.Lock()
	i := len(l.reqs)
	l.reqs = append(l.reqs, span{sent: time.Now()})
	l.mu.Unlock()
	resp, err := l.next.Do(req)
	l.mu.Lock()
	l.reqs[i].ended = time.Now()
	l.mu.Unlock()
	return resp, err
}

// slowest is the longest a request waiting at some moment in [from, to] waited for the
// server's answer (until to, if it was still waiting then).
func (l *latencies) slowest(from, to time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var worst time.Duration
	for _, r := range l.reqs {
		end := r.ended
		if end.IsZero() || end.After(to) {
			end = to
		}
		if r.sent.After(to) || end.Before(from) {
			continue
		}
		worst = max(worst, end.Sub(r.sent))
	}
	return worst
}

// loss is a lease a worker gave up as unrenewed or lost to another worker, or took as
// expired (from prev), as its log says.
type loss struct {
	worker, shard, how, prev string
	at                       time.Time
}

var (
	lostLine  = regexp.MustCompile(`^time=(\S+) .*msg="lease lost;.* test_worker=(\S+) .* shard=(\S+)`)
	takenLine = regexp.MustCompile(`^time=(\S+) .*msg="lease taken" test_worker=(\S+) .* shard=(\S+) event=taken_expired previous_owner=(\S+)`)
)

// losses reads the lease losses and expired takes out of workers' logs (text format).
func losses(t *testing.T, logs ...*logBuffer) []loss {
	t.Helper()
	var out []loss
	for _, b := range logs {
		for _, line := range strings.Split(b.String(), "\n") {
			how, m := "lost", lostLine.FindStringSubmatch(line)
			if m == nil {
				how, m = "taken_expired", takenLine.FindStringSubmatch(line)
			}
			if m == nil {
				continue
			}
			at, err := time.Parse(time.RFC3339Nano, m[1])
			if err != nil {
				t.Fatalf("log line with a bad time: %q", line)
			}
			l := loss{worker: m[2], shard: m[3], how: how, at: at}
			if len(m) > 4 {
				l.prev = m[4]
			}
			out = append(out, l)
		}
	}
	return out
}

// explained splits losses into those the table's slowness accounts for and the others. A loss
// at L is explained when, within the lease duration before it (and the renewal interval a
// taker's scans add), some request of the workers waited at least a lease write's budget
// (RenewInterval) for the server: the table was too slow for the configuration then, and
// the lease's owner may not have been able to renew it at all. An expired take is explained
// too when its previous owner gave the lease up in an explained loss: the row keeps that
// owner's name and counter, and the take follows a lease duration later, when the table may
// be fast again. With a server answering every request within the budget, a loss is a
// defect: that is what the tests check.
func explained(ls []loss, lat *latencies, leaseDuration, renewInterval time.Duration) (ok, not []loss) {
	sort.SliceStable(ls, func(i, j int) bool { return ls[i].at.Before(ls[j].at) })
	gaveUp := map[string]bool{} // worker+shard: its last loss of the shard was explained
	for _, l := range ls {
		slow := lat.slowest(l.at.Add(-leaseDuration-renewInterval), l.at) >= renewInterval
		if l.how == "taken_expired" && gaveUp[l.prev+" "+l.shard] {
			slow = true
		}
		if l.how == "lost" {
			gaveUp[l.worker+" "+l.shard] = slow
		}
		if slow {
			ok = append(ok, l)
		} else {
			not = append(not, l)
		}
	}
	return ok, not
}

func shardsOf(ls []loss) map[string]bool {
	out := map[string]bool{}
	for _, l := range ls {
		out[l.shard] = true
	}
	return out
}

// shardOfKey maps a partition key to its shard as Kinesis does (and moto): the MD5 of the key
// as a 128-bit number, in the shard's hash key range.
func (e *env) shardOfKey(t *testing.T, stream string) func(key string) string {
	t.Helper()
	out, err := e.kin.ListShards(context.Background(), &awskinesis.ListShardsInput{StreamName: &stream})
	if err != nil {
		t.Fatal(err)
	}
	type rng struct {
		lo, hi *big.Int
		id     string
	}
	var rs []rng
	for _, sh := range out.Shards {
		lo, _ := new(big.Int).SetString(aws.ToString(sh.HashKeyRange.StartingHashKey), 10)
		hi, _ := new(big.Int).SetString(aws.ToString(sh.HashKeyRange.EndingHashKey), 10)
		rs = append(rs, rng{lo, hi, aws.ToString(sh.ShardId)})
	}
	return func(key string) string {
		sum := md5.Sum([]byte(key))
		h := new(big.Int).SetBytes(sum[:])
		for _, r := range rs {
			if h.Cmp(r.lo) >= 0 && h.Cmp(r.hi) <= 0 {
				return r.id
			}
		}
		t.Fatalf("key %q in no shard's hash key range", key)
		return ""
	}
}

// dupsByShard is how many extra times records are counted beyond once, by shard.
func dupsByShard(counts map[string]int, ids []string, shardOf func(string) string) map[string]int {
	out := map[string]int{}
	for _, id := range ids {
		if n := counts[id]; n > 1 {
			key, _ := parseRecord([]byte(id))
			out[shardOf(key)] += n - 1
		}
	}
	return out
}

// newDups is by shard what after counts twice beyond what before did.
func newDups(before, after map[string]int) map[string]int {
	out := map[string]int{}
	for s, n := range after {
		if d := n - before[s]; d != 0 {
			out[s] = d
		}
	}
	return out
}

func describe(ls []loss) string {
	sort.Slice(ls, func(i, j int) bool { return ls[i].at.Before(ls[j].at) })
	var b strings.Builder
	for _, l := range ls {
		b.WriteString("\n  " + l.at.Format("15:04:05.000") + " " + l.worker + " " + l.how + " " + l.shard)
	}
	return b.String()
}

// The rule the fleet and lost-answer tests apply to a lost lease: put down to the table only
// when a request waited at least a write's budget for it within the lease's last duration;
// and the log lines it reads the losses from are the source's own.
func TestExplainedLossesNeedASlowTable(t *testing.T) {
	const lease, renew = 5 * time.Second, time.Second
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	lat := &latencies{reqs: []span{
		{sent: at(0), ended: at(3)},        // slow, long before the losses below
		{sent: at(10), ended: at(10.2)},    // fast
		{sent: at(20), ended: at(21.5)},    // slow
		{sent: at(30), ended: time.Time{}}, // still waiting
	}}
	for _, c := range []struct {
		at   float64
		want bool
	}{
		{at: 8, want: true},     // the slow request at 0-3 is within 6 s before it
		{at: 15, want: false},   // only the fast one within 6 s
		{at: 24, want: true},    // the slow one at 20-21.5
		{at: 30.5, want: false}, // waiting for 0.5 s only
		{at: 31.5, want: true},  // waiting for 1.5 s by then
	} {
		ok, not := explained([]loss{{shard: "s", at: at(c.at)}}, lat, lease, renew)
		if got := len(ok) == 1 && len(not) == 0; got != c.want {
			t.Errorf("loss at %vs: explained %v, want %v", c.at, got, c.want)
		}
	}

	// An expired take follows its owner's loss by a lease duration, with the table fast again:
	// explained only if that loss was.
	owner := []loss{{worker: "b", shard: "s", how: "lost", at: at(8)}, {worker: "a", shard: "s", how: "taken_expired", prev: "b", at: at(15)}}
	if ok, not := explained(owner, lat, lease, renew); len(ok) != 2 || len(not) != 0 {
		t.Errorf("an expired take after an explained loss: explained %v, not %v", ok, not)
	}
	owner[0].at = at(15.5)
	owner[1].at = at(16)
	if ok, not := explained(owner, lat, lease, renew); len(ok) != 0 || len(not) != 2 {
		t.Errorf("an expired take after an unexplained loss: explained %v, not %v", ok, not)
	}

	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil)).With("test_worker", "b", "source", "kinesis", "worker", "b")
	log.Warn("lease lost; its records after the last checkpoint are re-read by the new owner", "shard", "shardId-000000000004",
		"why", "not renewed within lease_duration: lease shardId-000000000004: renew: timeout")
	log.Info("lease taken", "shard", "shardId-000000000005", "event", "taken_expired", "previous_owner", "c")
	log.Info("lease taken", "shard", "shardId-000000000006", "event", "taken", "previous_owner", "")
	got := losses(t, logs)
	if len(got) != 2 || got[0].worker != "b" || got[0].shard != "shardId-000000000004" || got[0].how != "lost" ||
		got[1].shard != "shardId-000000000005" || got[1].how != "taken_expired" || got[1].prev != "c" || got[0].at.IsZero() {
		t.Errorf("losses read from the log: %+v", got)
	}
}
