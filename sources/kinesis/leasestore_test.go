package kinesis

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/weirstream/weir/internal/awsconf"
	"github.com/weirstream/weir/internal/moto"
)

func testStore(t *testing.T) *leaseStore {
	t.Helper()
	srv := moto.Start(t)
	c := awsconf.Config{Endpoint: srv.Endpoint(), LocalCredentials: true}
	cfg, err := c.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := awsconf.Retry{}
	r.ApplyDefaults()
	s := &leaseStore{db: dynamodb.NewFromConfig(cfg), table: "leases", stream: "s", retry: r}
	if err := s.ensureTable(context.Background(), true, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.ensureTable(context.Background(), true, nil); err != nil { // idempotent
		t.Fatal(err)
	}
	return s
}

func getLease(t *testing.T, s *leaseStore, shard string) lease {
	t.Helper()
	all, err := s.list(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range all {
		if l.Shard == shard {
			return l
		}
	}
	t.Fatalf("no lease %s", shard)
	return lease{}
}

// The lease counter fences every write: once B took the lease, nothing A writes with the
// counter it knew lands (checkpoint, renewal, release, handover), and the row keeps B's state.
func TestLeaseCounterFencesTheOldOwner(t *testing.T) {
	s := testStore(t)
	ctx := context.Background()
	if ok, err := s.create(ctx, lease{Shard: "shardId-0", Checkpoint: cpTrimHorizon, Parents: []string{"p1", "p2"}}); err != nil || !ok {
		t.Fatalf("create: %v %v", ok, err)
	}
	if ok, err := s.create(ctx, lease{Shard: "shardId-0", Checkpoint: cpLatest}); err != nil || ok {
		t.Fatalf("second create must be refused quietly: %v %v", ok, err)
	}
	ca, err := s.take(ctx, getLease(t, s, "shardId-0"), "A")
	if err != nil {
		t.Fatal(err)
	}
	const state = "weir1 w=60000000000 p=100:3 ct=120000000000 s=120000000000@104:0"
	if ca, err = s.checkpoint(ctx, "shardId-0", "A", ca, "100", 3, state, false); err != nil {
		t.Fatal(err)
	}
	// B takes the lease (as after A's lease expired in B's eyes), and the state with it.
	seen := getLease(t, s, "shardId-0")
	if seen.Owner != "A" || seen.Checkpoint != "100" || seen.Sub != 3 || len(seen.Parents) != 2 || seen.State != state {
		t.Fatalf("row %+v", seen)
	}
	cb, err := s.take(ctx, seen, "B")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.take(ctx, seen, "C"); !errors.Is(err, errLeaseLost) {
		t.Errorf("a take with a stale counter: %v, want errLeaseLost", err)
	}
	if _, err := s.checkpoint(ctx, "shardId-0", "A", ca, "200", 0, "", false); !errors.Is(err, errLeaseLost) {
		t.Errorf("A's checkpoint after losing the lease: %v, want errLeaseLost", err)
	}
	if _, _, err := s.renew(ctx, "shardId-0", "A", ca); !errors.Is(err, errLeaseLost) {
		t.Errorf("A's renewal: %v", err)
	}
	if _, err := s.release(ctx, "shardId-0", "A", ca); !errors.Is(err, errLeaseLost) {
		t.Errorf("A's release: %v", err)
	}
	if _, err := s.handOver(ctx, "shardId-0", "A", ca, "300", 0, "", "A2"); !errors.Is(err, errLeaseLost) {
		t.Errorf("A's handover: %v", err)
	}
	// Even A guessing B's counter is refused: the owner is part of the condition.
	if _, err := s.checkpoint(ctx, "shardId-0", "A", cb, "200", 0, "", false); !errors.Is(err, errLeaseLost) {
		t.Errorf("A's checkpoint with B's counter: %v", err)
	}
	row := getLease(t, s, "shardId-0")
	if row.Owner != "B" || row.Checkpoint != "100" || row.Sub != 3 || row.Counter != cb || row.State != state {
		t.Errorf("row after A's refused writes: %+v, want owner B, checkpoint 100:3, counter %d", row, cb)
	}
	// B's writes land; a handoff request is seen by B's renewal and carried out.
	if err := s.requestHandoff(ctx, row, "C"); err != nil {
		t.Fatal(err)
	}
	if err := s.requestHandoff(ctx, row, "D"); !errors.Is(err, errLeaseLost) {
		t.Errorf("a second handoff request: %v", err)
	}
	cb, to, err := s.renew(ctx, "shardId-0", "B", cb)
	if err != nil || to != "C" {
		t.Fatalf("renew: handoff %q, %v", to, err)
	}
	const handed = "weir1 w=60000000000 p=150:0 ct=180000000000"
	if _, err := s.handOver(ctx, "shardId-0", "B", cb, "150", 0, handed, "C"); err != nil {
		t.Fatal(err)
	}
	row = getLease(t, s, "shardId-0")
	if row.Owner != "C" || row.Checkpoint != "150" || row.Handoff != "" || row.State != handed {
		t.Errorf("after the handover: %+v", row)
	}
}

func TestBalanceSpreadsAndDamps(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	mk := func(owners ...string) []lease {
		var ls []lease
		for i, o := range owners {
			ls = append(ls, lease{Shard: string(rune('a' + i)), Owner: o})
		}
		return ls
	}
	never := func(lease) bool { return false }
	for name, c := range map[string]struct {
		leases    []lease
		me        string
		wantTake  int
		wantSteal string
	}{
		"alone takes all":              {mk("", "", "", ""), "x", 4, ""},
		"second worker takes half":     {mk("a", "a", "", ""), "b", 2, ""},
		"3/1 evens out":                {mk("a", "a", "a", "b"), "b", 0, "a"},
		"2/2 is even":                  {mk("a", "a", "b", "b"), "b", 0, ""},
		"3/3/2 is balanced":            {mk("a", "a", "a", "b", "b", "b", "c", "c"), "c", 0, ""},
		"new worker vs 3/3/2":          {mk("a", "a", "a", "b", "b", "b", "c", "c"), "d", 0, "a"},
		"4/2/2 steals from a":          {mk("a", "a", "a", "a", "b", "b", "c", "c"), "c", 0, "a"},
		"within one of the mean":       {mk("a", "a", "a", "a", "a", "b", "b", "b", "b"), "b", 0, ""},
		"empty worker vs 8":            {mk("a", "a", "a", "a", "a", "a", "a", "a"), "b", 0, "a"},
		"3/2/2 is balanced":            {mk("a", "a", "a", "b", "b", "c", "c"), "c", 0, ""},
		"3/3/1: at target, two short":  {mk("a", "a", "a", "b", "b", "b", "c"), "c", 0, "a"},
		"2/1/1 is balanced":            {mk("a", "a", "b", "c"), "c", 0, ""},
		"the victim never steals back": {mk("a", "a", "b", "b", "b"), "a", 0, ""},
	} {
		held := map[string]bool{}
		for _, l := range c.leases {
			if l.Owner == c.me {
				held[l.Shard] = true
			}
		}
		take, steal := balance(c.me, c.leases, held, never, rnd)
		gotSteal := ""
		if steal != nil {
			gotSteal = steal.Owner
		}
		if len(take) != c.wantTake || gotSteal != c.wantSteal {
			t.Errorf("%s: take %d steal %q, want %d %q", name, len(take), gotSteal, c.wantTake, c.wantSteal)
		}
	}
	// Expired leases are free; a lease being handed over counts for the asking worker.
	ls := mk("a", "a", "dead", "dead")
	take, _ := balance("b", ls, nil, func(l lease) bool { return l.Owner == "dead" }, rnd)
	if len(take) != 2 || take[0].Owner != "dead" {
		t.Errorf("expired leases: took %+v", take)
	}
	ls = mk("a", "a", "a", "a")
	ls[0].Handoff = "b"
	if take, steal := balance("b", ls, nil, never, rnd); len(take) != 0 || steal != nil {
		t.Errorf("a worker with a pending handoff asks again: %v %v", take, steal)
	}
}

func TestActiveLeasesWaitForParents(t *testing.T) {
	all := []lease{
		{Shard: "p", Checkpoint: "123"},
		{Shard: "q", Checkpoint: cpShardEnd},
		{Shard: "split-child", Checkpoint: cpTrimHorizon, Parents: []string{"q"}},
		{Shard: "merge-child", Checkpoint: cpTrimHorizon, Parents: []string{"p", "q"}},
		{Shard: "orphan", Checkpoint: cpTrimHorizon, Parents: []string{"trimmed"}},
	}
	var got []string
	for _, l := range activeLeases(all) {
		got = append(got, l.Shard)
	}
	want := []string{"p", "split-child", "orphan"}
	if len(got) != len(want) {
		t.Fatalf("active %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("active %v, want %v", got, want)
		}
	}
}

// Workers starting together race for the same free lease: the conditional write must let
// exactly one of them take it, or two workers read the shard from the same checkpoint and
// every record up to the loser's first renewal is processed twice.
// TestReshardWhileProducingKeepsPerKeyOrder failed that way under CPU load while moto applied
// conditional writes non-atomically (internal/moto/atomic.go): both workers' takes with
// leaseCounter = 0 succeeded, 1 to 20 ms apart. The long parent list only makes moto slower
// between its check and its write (it sizes the whole item on every attribute it sets), so a
// non-atomic server fails this test on an idle machine too (10 runs out of 10 before the fix).
func TestRacingWorkersTakeALeaseOnce(t *testing.T) {
	s := testStore(t)
	const racers, rounds = 32, 16
	var parents []string
	for i := range 1500 {
		parents = append(parents, fmt.Sprintf("shardId-%012d", i))
	}
	ctx := context.Background()
	for r := range rounds {
		free := lease{Shard: "shardId-race-" + strconv.Itoa(r), Checkpoint: cpTrimHorizon, Parents: parents}
		if ok, err := s.create(ctx, free); err != nil || !ok {
			t.Fatalf("create %s: %v %v", free.Shard, ok, err)
		}
		var wg sync.WaitGroup
		var won atomic.Int32
		start := make(chan struct{})
		for i := range racers {
			wg.Go(func() {
				<-start
				_, err := s.take(ctx, free, "worker-"+strconv.Itoa(i))
				switch {
				case err == nil:
					won.Add(1)
				case !errors.Is(err, errLeaseLost):
					t.Errorf("take: %v", err)
				}
			})
		}
		close(start) // all at once, as workers starting back to back scan the same free lease
		wg.Wait()
		if n := won.Load(); n != 1 {
			l := getLease(t, s, free.Shard)
			t.Fatalf("round %d: %d workers took the lease, want 1 (owner now %s, counter %d)", r, n, l.Owner, l.Counter)
		}
	}
}
